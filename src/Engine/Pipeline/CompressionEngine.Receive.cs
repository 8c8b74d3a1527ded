using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>Receiving and releasing results, in submission order.</summary>
public sealed unsafe partial class CompressionEngine
{
    /// <summary>The oldest result, if it is ready; never waits.</summary>
    public bool TryReceive(out PageResult result)
    {
        ThrowIfStopped();
        if (_received == _submitted)
        {
            result = default;
            return false;
        }

        ref PendingPage page = ref _order[_received & _orderMask];
        CompressOutcome outcome;
        if (page.Worker == PendingPage.Busy)
        {
            outcome = BusyOutcome(page.BusyKind);
        }
        else if (!_workers[page.Worker].Results.TryDequeue(out outcome))
        {
            result = default;
            return false;
        }

        result = Deliver(ref page, in outcome);
        return true;
    }

    /// <summary>The oldest result, waiting for it if needed (spin, yield, then block).</summary>
    /// <exception cref="InvalidOperationException">No page is in flight.</exception>
    public PageResult Receive()
    {
        ThrowIfStopped();
        if (_received == _submitted)
        {
            ThrowNothingInFlight();
        }

        ref PendingPage page = ref _order[_received & _orderMask];
        CompressOutcome outcome;
        if (page.Worker == PendingPage.Busy)
        {
            outcome = BusyOutcome(page.BusyKind);
        }
        else
        {
            CompressWorker worker = _workers[page.Worker];
            while (!worker.Results.TryDequeue(out outcome))
            {
                WaitForResult(worker);
            }
        }

        return Deliver(ref page, in outcome);
    }

    /// <summary>
    /// Gives the bytes of <paramref name="result"/> back to the engine. Results are released in the order they were
    /// received (the oldest first). Does nothing once the engine has stopped.
    /// </summary>
    public void Release(in PageResult result)
    {
        if (_stop.IsStopRequested)
        {
            return;
        }

        if (!ReferenceEquals(result.Owner, this) || result.Sequence != _released || _released == _received)
        {
            ThrowReleaseOrder(result.Sequence);
        }

        ref PendingPage page = ref _order[_released & _orderMask];
        if (page.Worker == PendingPage.Busy)
        {
            _busyReleased++;
        }
        else
        {
            _outstanding[page.Worker]--;
        }

        // Drop the block reference: the order ring must not keep blocks alive.
        page = default;
        _released++;
    }

    /// <summary>
    /// Throws unless the result with <paramref name="sequence"/> is received, not released, and its bytes not freed.
    /// (After a stop the bytes stay readable until the buffers are freed: a handler running inside the caller gate can
    /// finish reading them.)
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal void ThrowIfNotLive(long sequence)
    {
        // Acquire: pairs with the release store in Shutdown.
        if (Volatile.Read(ref _freed) != 0 || sequence < _released || sequence >= _received)
        {
            ThrowNotLive(sequence);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotLive(long sequence)
    {
        if (Volatile.Read(ref _freed) != 0)
        {
            if (_stop.Fault is Exception fault)
            {
                throw new EngineException("this page result's engine stopped after a failure: its bytes are gone", fault);
            }

            throw new ObjectDisposedException(nameof(CompressionEngine), "this page result's engine was disposed: its bytes are gone");
        }

        throw new InvalidOperationException($"page result {sequence} was released (or never received): its bytes are gone");
    }

    private PageResult Deliver(ref PendingPage page, in CompressOutcome outcome)
    {
        bool busy = page.Worker == PendingPage.Busy;
        byte* bytes = outcome.Kind == PageResultKind.Zero ? null
            : busy ? BusyPage(page.Slot)
            : _workers[page.Worker].SlotPointer(page.Slot);
        var result = new PageResult(this, _received, page.Block!, page.Offset, outcome.Kind, outcome.Method, busy, bytes, outcome.Length);
        _counters.Add(outcome.Kind, outcome.Length, busy);
        _received++;
        return result;
    }

    private static CompressOutcome BusyOutcome(PageResultKind kind)
        => new(kind, CompressMethod.None, kind == PageResultKind.Zero ? 0 : PageSizes.PageSize);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForResult(CompressWorker worker)
    {
        var condition = new ResultOrStop(worker.Results, _stop);
        worker.ResultParker.Wait(ref condition);
        ThrowIfStopped();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNothingInFlight()
        => throw new InvalidOperationException("no page is in flight: submit a page before receiving (and release held results to free credit)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowReleaseOrder(long sequence)
        => throw new InvalidOperationException(
            $"results are released oldest first: expected result {_released} of this engine ({_received - _released} held), got result {sequence}");

    /// <summary>The caller's wait condition: the awaited worker has a result, or the engine is stopping.</summary>
    private readonly struct ResultOrStop(SpscRing<CompressOutcome> results, StopSignal stop) : IWaitCondition
    {
        public bool IsSatisfied() => !results.IsEmpty || stop.IsStopRequested;
    }
}
