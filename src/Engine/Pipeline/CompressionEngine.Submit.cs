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
    /// <exception cref="ArgumentOutOfRangeException">The offset is not a page of the block.</exception>
    public bool TrySubmit(RamBlock block, long offset) => TrySubmit(block, new ReadOnlySpan<long>(in offset));

    /// <summary>
    /// Hands the pages at <paramref name="offsets"/> of <paramref name="block"/> (1 to <see cref="BatchPages"/> of them)
    /// to one worker as one batch, or, with compress-wait-thread off and every worker full, takes them on this thread as
    /// busy pages (copied now, zero or raw). Their results come back together, in this order (<see cref="ReceiveBatch"/>).
    /// </summary>
    /// <returns>False when the batch could not be accepted without waiting: receive and release the oldest result first.</returns>
    /// <exception cref="ArgumentOutOfRangeException">An offset is not a page of the block, or there are no or too many offsets.</exception>
    public bool TrySubmit(RamBlock block, ReadOnlySpan<long> offsets)
    {
        ArgumentNullException.ThrowIfNull(block);
        _lifetime.ThrowIfStopped();
        if (offsets.Length < 1 || offsets.Length > _batch)
        {
            ThrowBatchSize(offsets.Length);
        }

        foreach (long offset in offsets)
        {
            // Bounds-checked before anything is handed out: a bad offset fails here, on the caller's thread.
            _ = block.GetPagePointer(offset);
        }

        int worker = PickWorker();
        if (worker >= 0)
        {
            Dispatch(worker, block, offsets);
            return true;
        }

        if (_busyCapacity == 0 || !CanTakeBusyPage())
        {
            return false;
        }

        TakeBusyPages(block, offsets);
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

    private void Dispatch(int workerIndex, RamBlock block, ReadOnlySpan<long> offsets)
    {
        CompressWorker worker = _workers[workerIndex];
        int slot = worker.Work.SlotOf(worker.Work.ProducerPosition);
        worker.SetSlotBlock(slot, block);
        for (int i = 0; i < offsets.Length; i++)
        {
            worker.SetSlotPage(slot, i, offsets[i], block.GetPagePointer(offsets[i]));
        }

        ref PendingPage page = ref _order[_submitted & _orderMask];
        page.Block = block;
        page.Offset = offsets[0];
        page.Worker = workerIndex;
        page.Slot = slot;
        page.Count = offsets.Length;
        _outstanding[workerIndex]++;
        _submitted++;

        // Publishes the slot's sources and offsets written above (the ring's release store).
        if (!worker.Work.TryEnqueue(new CompressWorkItem(slot, offsets.Length)))
        {
            ThrowCreditBroken(workerIndex);
        }
    }

    /// <summary>
    /// A busy batch may be taken when the pool has room and the caller cannot free a worker's credit without waiting
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
    private void TakeBusyPages(RamBlock block, ReadOnlySpan<long> offsets)
    {
        // The busy pool is the only native memory the caller writes; the gate keeps a concurrent Dispose from freeing it
        // under the copy.
        if (!_lifetime.Gate.TryEnter(_stop))
        {
            _lifetime.HandleStop();
        }

        try
        {
            int slot = (int)(_busySubmitted & (_busyCapacity - 1));
            for (int i = 0; i < offsets.Length; i++)
            {
                var copy = new Span<byte>(BusyPage(slot, i), PageSizes.PageSize);
                new ReadOnlySpan<byte>(block.GetPagePointer(offsets[i]), PageSizes.PageSize).CopyTo(copy);

                // As QEMU: a page no thread could take is still checked for zero before it goes out raw.
                _busyOutcomes[(slot * _batch) + i] = ZeroPage.IsZero(copy) ? BusyOutcome(PageResultKind.Zero) : BusyOutcome(PageResultKind.Raw);
                _busyOffsets[(slot * _batch) + i] = offsets[i];
            }

            ref PendingPage page = ref _order[_submitted & _orderMask];
            page.Block = block;
            page.Offset = offsets[0];
            page.Worker = PendingPage.Busy;
            page.Slot = slot;
            page.Count = offsets.Length;
            _busySubmitted++;
            _submitted++;
        }
        finally
        {
            _lifetime.Gate.Exit();
        }
    }

    private byte* BusyPage(int slot, int page) => _busyPool!.Pointer + ((nint)((slot * _batch) + page) * PageSizes.PageSize);

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowBatchSize(int count)
        => throw new ArgumentOutOfRangeException(nameof(count), count, $"a submission holds 1 to {_batch} pages (the engine's batch-pages)");

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowCreditBroken(int worker)
        => throw new InvalidOperationException($"compress worker {worker}'s work ring is full although the caller had credit: an engine bug");
}
