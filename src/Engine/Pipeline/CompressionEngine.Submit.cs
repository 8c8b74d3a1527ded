using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Pipeline;

/// <summary>Submitting pages: worker choice, credit, and busy pages.</summary>
public sealed unsafe partial class CompressionEngine
{
    /// <summary>
    /// Hands the page at <paramref name="offset"/> of <paramref name="block"/> to a worker, or, with compress-wait-thread
    /// off and every worker full, takes it on this thread as a busy page (copied now, zero or raw).
    /// </summary>
    /// <returns>
    /// False when the page could not be accepted without waiting: receive (<see cref="Receive"/>) and release the oldest
    /// result, then try again. With compress-wait-thread on, that is where the caller waits for a worker.
    /// </returns>
    public bool TrySubmit(RamBlock block, long offset)
    {
        ArgumentNullException.ThrowIfNull(block);
        ThrowIfStopped();
        byte* source = block.GetPagePointer(offset);
        int worker = PickWorker();
        if (worker >= 0)
        {
            Dispatch(worker, block, offset, source);
            return true;
        }

        if (_busyCapacity == 0 || !CanTakeBusyPage())
        {
            return false;
        }

        TakeBusyPage(block, offset, source);
        return true;
    }

    /// <summary>The next worker, round robin, that has credit left; -1 if none has.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private int PickWorker()
    {
        int count = _workers.Length;
        int worker = _nextWorker;
        for (int i = 0; i < count; i++)
        {
            if (_outstanding[worker] < _credit)
            {
                _nextWorker = worker + 1 == count ? 0 : worker + 1;
                return worker;
            }

            worker = worker + 1 == count ? 0 : worker + 1;
        }

        return -1;
    }

    private void Dispatch(int workerIndex, RamBlock block, long offset, byte* source)
    {
        CompressWorker worker = _workers[workerIndex];
        int slot = worker.Work.SlotOf(worker.Work.ProducerPosition);
        worker.SetSlotPage(slot, block, offset);

        ref PendingPage page = ref _order[_submitted & _orderMask];
        page.Block = block;
        page.Offset = offset;
        page.Worker = workerIndex;
        page.Slot = slot;
        page.BusyKind = PageResultKind.Zero;
        _outstanding[workerIndex]++;
        _submitted++;

        if (!worker.Work.TryEnqueue(new CompressWorkItem(source, slot)))
        {
            ThrowCreditBroken(workerIndex);
        }
    }

    /// <summary>
    /// A busy page may be taken when the pool has room and the caller cannot free a worker's credit without waiting
    /// (QEMU: "no thread is done"). If the oldest result is ready, the caller should receive it instead.
    /// </summary>
    private bool CanTakeBusyPage()
    {
        if (_busySubmitted - _busyReleased >= _busyCapacity || _received == _submitted)
        {
            // The pool is full, or every credit is held by results the caller has received but not released.
            return false;
        }

        ref PendingPage head = ref _order[_received & _orderMask];
        return head.Worker != PendingPage.Busy && _workers[head.Worker].Results.IsEmpty;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void TakeBusyPage(RamBlock block, long offset, byte* source)
    {
        // The busy pool is the only native memory the caller writes; the gate keeps a concurrent Dispose from freeing it
        // under the copy.
        if (!_gate.TryEnter(_stop))
        {
            HandleStop();
        }

        try
        {
            int slot = (int)(_busySubmitted & (_busyCapacity - 1));
            var copy = new Span<byte>(BusyPage(slot), PageSizes.PageSize);
            new ReadOnlySpan<byte>(source, PageSizes.PageSize).CopyTo(copy);

            ref PendingPage page = ref _order[_submitted & _orderMask];
            page.Block = block;
            page.Offset = offset;
            page.Worker = PendingPage.Busy;
            page.Slot = slot;

            // As QEMU: a page no thread could take is still checked for zero before it goes out raw.
            page.BusyKind = ZeroPage.IsZero(copy) ? PageResultKind.Zero : PageResultKind.Raw;
            _busySubmitted++;
            _submitted++;
        }
        finally
        {
            _gate.Exit();
        }
    }

    private byte* BusyPage(int slot) => _busyPool!.Pointer + ((nint)slot * PageSizes.PageSize);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCreditBroken(int worker)
        => throw new InvalidOperationException($"compress worker {worker}'s work ring is full although the caller had credit: an engine bug");
}
