using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>Receiving and releasing results, in submission order.</summary>
public sealed unsafe partial class CompressionEngine
{
    /// <summary>The oldest result, if it is ready; never waits.</summary>
    /// <exception cref="InvalidOperationException">The oldest result is a batch of several pages (use <see cref="TryReceiveBatch"/>).</exception>
    public bool TryReceive(out PageResult result)
    {
        if (!TryReceiveOldest(out PageResultBatch batch, single: true))
        {
            result = default;
            return false;
        }

        result = batch[0];
        return true;
    }

    /// <summary>The oldest result, waiting for it if needed (spin, yield, then block).</summary>
    /// <exception cref="InvalidOperationException">No page is in flight, or the oldest result is a batch of several pages.</exception>
    public PageResult Receive() => ReceiveOldest(single: true)[0];

    /// <summary>The oldest batch's results, if they are ready; never waits.</summary>
    public bool TryReceiveBatch(out PageResultBatch batch) => TryReceiveOldest(out batch, single: false);

    /// <summary>The oldest batch's results, waiting for them if needed (spin, yield, then block).</summary>
    /// <exception cref="InvalidOperationException">Nothing is in flight.</exception>
    public PageResultBatch ReceiveBatch() => ReceiveOldest(single: false);

    /// <summary>
    /// Gives the bytes of <paramref name="result"/> back to the engine. Results are released in the order they were
    /// received (the oldest first). Does nothing once the engine has stopped.
    /// </summary>
    public void Release(in PageResult result) => Release(result.Owner, result.Sequence);

    /// <summary>Gives the bytes of every page of <paramref name="batch"/> back to the engine, oldest first, as <see cref="Release(in PageResult)"/>.</summary>
    public void Release(in PageResultBatch batch) => Release(batch.Owner, batch.Sequence);

    private bool TryReceiveOldest(out PageResultBatch batch, bool single)
    {
        _lifetime.ThrowIfStopped();
        if (_received == _submitted)
        {
            batch = default;
            return false;
        }

        ref PendingPage page = ref _order[_received & _orderMask];
        if (single && page.Count != 1)
        {
            ThrowBatchNotSingle(page.Count);
        }

        if (page.Worker != PendingPage.Busy && !_workers[page.Worker].Results.TryDequeue(out _))
        {
            batch = default;
            return false;
        }

        batch = Deliver(ref page);
        return true;
    }

    private PageResultBatch ReceiveOldest(bool single)
    {
        _lifetime.ThrowIfStopped();
        if (_received == _submitted)
        {
            ThrowNothingInFlight();
        }

        ref PendingPage page = ref _order[_received & _orderMask];
        if (single && page.Count != 1)
        {
            ThrowBatchNotSingle(page.Count);
        }

        if (page.Worker != PendingPage.Busy)
        {
            CompressWorker worker = _workers[page.Worker];
            while (!worker.Results.TryDequeue(out _))
            {
                WaitForResult(worker);
            }
        }

        return Deliver(ref page);
    }

    private void Release(CompressionEngine? owner, long sequence)
    {
        if (_stop.IsStopRequested)
        {
            return;
        }

        if (!ReferenceEquals(owner, this) || sequence != _released || _released == _received)
        {
            ThrowReleaseOrder(sequence);
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
        // Acquire (IsFreed): pairs with the release store in EngineLifetime.Shutdown.
        if (_lifetime.IsFreed || sequence < _released || sequence >= _received)
        {
            ThrowNotLive(sequence);
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowNotLive(long sequence)
    {
        if (_lifetime.IsFreed)
        {
            if (_stop.Fault is Exception fault)
            {
                throw new EngineException("this page result's engine stopped after a failure: its bytes are gone", fault);
            }

            throw new ObjectDisposedException(nameof(CompressionEngine), "this page result's engine was disposed: its bytes are gone");
        }

        throw new InvalidOperationException($"page result {sequence} was released (or never received): its bytes are gone");
    }

    private PageResultBatch Deliver(ref PendingPage page)
    {
        var batch = new PageResultBatch(this, _received, page.Block!, page.Worker, page.Slot, page.Count);
        bool busy = page.Worker == PendingPage.Busy;
        for (int i = 0; i < page.Count; i++)
        {
            ref readonly CompressOutcome outcome = ref busy ? ref _busyOutcomes[(page.Slot * _batch) + i] : ref _workers[page.Worker].Outcome(page.Slot, i);
            _counters.Add(outcome.Kind, outcome.Length, busy);
        }

        _received++;
        return batch;
    }

    /// <summary>Page <paramref name="index"/> of a received batch: its offset, outcome and bytes.</summary>
    internal PageResult GetPage(in PageResultBatch batch, int index)
    {
        if ((uint)index >= (uint)batch.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(index), index, $"the batch holds {batch.Count} pages");
        }

        ThrowIfNotLive(batch.Sequence);
        CompressOutcome outcome;
        long offset;
        byte* bytes;
        if (batch.Worker == PendingPage.Busy)
        {
            int i = (batch.Slot * _batch) + index;
            outcome = _busyOutcomes[i];
            offset = _busyOffsets[i];
            bytes = BusyPage(batch.Slot, index);
        }
        else
        {
            CompressWorker worker = _workers[batch.Worker];
            outcome = worker.Outcome(batch.Slot, index);
            offset = worker.SlotOffset(batch.Slot, index);
            bytes = worker.SlotPointer(batch.Slot, index);
        }

        return new PageResult(
            this, batch.Sequence, batch.Block, offset, outcome.Kind, outcome.Method, batch.Worker == PendingPage.Busy,
            outcome.Kind == PageResultKind.Zero ? null : bytes, outcome.Length);
    }

    private static CompressOutcome BusyOutcome(PageResultKind kind)
        => new(kind, CompressMethod.None, kind == PageResultKind.Zero ? 0 : PageSizes.PageSize);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBatchNotSingle(int count)
        => throw new InvalidOperationException($"the oldest result is a batch of {count} pages: receive it with ReceiveBatch");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForResult(CompressWorker worker)
    {
        var condition = new ResultOrStop(worker.Results, _stop);
        worker.ResultParker.Wait(ref condition);
        _lifetime.ThrowIfStopped();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowNothingInFlight()
        => throw new InvalidOperationException("no page is in flight: submit a page before receiving (and release held results to free credit)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowReleaseOrder(long sequence)
        => throw new InvalidOperationException(
            $"results are released oldest first: expected result {_released} of this engine ({_received - _released} held), got result {sequence}");

    /// <summary>The caller's wait condition: the awaited worker has a result, or the engine is stopping.</summary>
    private readonly struct ResultOrStop(SpscRing<CompressWorkItem> results, StopSignal stop) : IWaitCondition
    {
        public bool IsSatisfied() => !results.IsEmpty || stop.IsStopRequested;
    }
}
