using System.Globalization;
using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>Feeding pages to the workers, and the <see cref="WaitForDone"/> barrier.</summary>
public sealed unsafe partial class DecompressionEngine
{
    /// <summary>
    /// Queues a compressed page: <paramref name="payload"/> (1 to <see cref="PageSizes.MaxCompressedPage"/> bytes) is copied
    /// into the worker's buffer and decompressed into the page at <paramref name="offset"/> of <paramref name="block"/>.
    /// </summary>
    public void SubmitCompressed(RamBlock block, long offset, ReadOnlySpan<byte> payload) => SubmitCompressed(block, offset, payload, -1);

    /// <summary>
    /// As <see cref="SubmitCompressed(RamBlock, long, ReadOnlySpan{byte})"/>, for a payload read at byte
    /// <paramref name="streamOffset"/> of a migration stream: a payload that does not decode then fails the engine with a
    /// <see cref="PageException"/> whose <see cref="EngineException.StreamOffset"/> is that offset (the receive loop reports
    /// it as the stream's error there).
    /// </summary>
    public void SubmitCompressed(RamBlock block, long offset, ReadOnlySpan<byte> payload, long streamOffset)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (payload.IsEmpty || payload.Length > PageSizes.MaxCompressedPage)
        {
            ThrowBadPayload(block, offset, payload.Length);
        }

        Submit(block, offset, PageResultKind.Compressed, payload, streamOffset);
    }

    /// <summary>Queues a zero page: the page at <paramref name="offset"/> becomes all zero (written only if it is not already).</summary>
    public void SubmitZero(RamBlock block, long offset)
    {
        ArgumentNullException.ThrowIfNull(block);
        Submit(block, offset, PageResultKind.Zero, ReadOnlySpan<byte>.Empty, -1);
    }

    /// <summary>Queues a raw page: <paramref name="page"/> (exactly 4096 bytes) is copied into the page at <paramref name="offset"/>.</summary>
    public void SubmitRaw(RamBlock block, long offset, ReadOnlySpan<byte> page)
    {
        ArgumentNullException.ThrowIfNull(block);
        if (page.Length != PageSizes.PageSize)
        {
            throw new ArgumentException(
                string.Create(CultureInfo.InvariantCulture, $"a raw page is {PageSizes.PageSize} bytes, not {page.Length}"), nameof(page));
        }

        Submit(block, offset, PageResultKind.Raw, page, -1);
    }

    /// <summary>
    /// Waits until every page submitted so far is in guest memory (QEMU's <c>wait_for_decompress_done</c>), then returns;
    /// throws the first failure instead if a page failed.
    /// </summary>
    public void WaitForDone()
    {
        _lifetime.ThrowIfStopped();
        foreach (DecompressWorker worker in _workers)
        {
            SpscRing<DecompressWorkItem> work = worker.Work;
            if (!work.IsDrained)
            {
                WaitForDrained(work);
            }
        }
    }

    private void Submit(RamBlock block, long offset, PageResultKind kind, ReadOnlySpan<byte> payload, long streamOffset)
    {
        _lifetime.ThrowIfStopped();
        byte* destination = block.GetPagePointer(offset);
        DecompressWorker worker = _workers[WorkerOf(offset)];
        SpscRing<DecompressWorkItem> work = worker.Work;

        // A raw or zero page for a worker with nothing queued: apply it here. The worker has finished every earlier copy
        // of this page (IsDrained acquires its last Advance), so the order holds, and we save a copy and a wake-up.
        if (kind != PageResultKind.Compressed && work.IsDrained)
        {
            ApplyDirect(destination, kind, payload);
            return;
        }

        while (work.IsFull)
        {
            WaitForRoom(work);
        }

        // The slot is the worker's native memory: the gate keeps a concurrent Dispose from freeing it under the copy.
        if (!_lifetime.Gate.TryEnter(_stop))
        {
            _lifetime.HandleStop();
        }

        try
        {
            int slot = work.SlotOf(work.ProducerPosition);
            if (kind != PageResultKind.Zero)
            {
                payload.CopyTo(new Span<byte>(worker.SlotPointer(slot), DecompressWorker.SlotCapacity));
            }

            worker.SetSlotPage(slot, block, offset, streamOffset);
            if (!work.TryEnqueue(new DecompressWorkItem(destination, kind, payload.Length)))
            {
                throw new InvalidOperationException("a decompress worker's ring is full after it reported room: an engine bug");
            }
        }
        finally
        {
            _lifetime.Gate.Exit();
        }
    }

    private void ApplyDirect(byte* destination, PageResultKind kind, ReadOnlySpan<byte> payload)
    {
        var page = new Span<byte>(destination, PageSizes.PageSize);
        if (kind == PageResultKind.Raw)
        {
            PageCopy.CopyTo(payload, page);
        }
        else if (!ZeroPage.IsZero(page))
        {
            page.Clear();
        }

        // Single writer (the caller); release so AppliedPages can be read from any thread.
        Volatile.Write(ref _directPages, _directPages + 1);
    }

    /// <summary>
    /// The worker's ring is full: waits until it has drained to <see cref="RefillLevel"/> pages (hysteresis).
    /// </summary>
    /// <remarks>
    /// Why: waiting for just one free slot made the caller wait once per page, and a cheap page (zstd-1, about 2.7 µs) is
    /// shorter than the parker's spin and yield phase, so the caller spun and yielded through every page and hardly ever
    /// blocked, taking CPU from the workers on a 2-core machine (docs/PERFORMANCE.md, Pipeline). Waiting for half the ring
    /// costs one spin-yield-park cycle per <c>capacity - RefillLevel</c> pages, and the worker still has
    /// <see cref="RefillLevel"/> pages queued while the caller comes back, so it seldom runs dry. The spin and yield phase
    /// stays: measured on the 2-core machine, blocking at once (spin 0) lost 15% (zlib-1) to 33% (zstd-1) of the 2-worker
    /// throughput, since a blocked caller takes longer to get back on a core than the worker takes to finish its queued
    /// pages, while yielding hands the core to a worker and still returns quickly. Only the worker this caller waits on wakes it, at
    /// the refill level (<see cref="SpscRing{T}.WakeProducerAt"/>), not other workers and not every page.
    /// </remarks>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForRoom(SpscRing<DecompressWorkItem> work)
    {
        int level = _refillLevel;
        work.WakeProducerAt(work.ProducerPosition - level);
        var condition = new AtMostOrStop(work, level, _stop);
        _callerParker.Wait(ref condition);
        work.WakeProducerAt(long.MaxValue);
        _lifetime.ThrowIfStopped();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WaitForDrained(SpscRing<DecompressWorkItem> work)
    {
        // The end of a section: the wait may be short (a page or two), so the parker's usual spin is worth it here.
        work.WakeProducerAt(work.ProducerPosition);
        var condition = new DrainedOrStop(work, _stop);
        _callerParker.Wait(ref condition);
        work.WakeProducerAt(long.MaxValue);
        _lifetime.ThrowIfStopped();
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowBadPayload(RamBlock block, long offset, int length)
    {
        DecompressStatus status = length == 0 ? DecompressStatus.Empty : DecompressStatus.TooLong;
        throw new PageException(
            block.Name,
            offset,
            string.Create(CultureInfo.InvariantCulture, $"a compressed payload of {length} bytes is not accepted: 1 to {PageSizes.MaxCompressedPage}"),
            status);
    }

    /// <summary>The caller's wait condition: the worker has at most <c>level</c> pages queued, or the engine is stopping.</summary>
    private readonly struct AtMostOrStop(SpscRing<DecompressWorkItem> work, int level, StopSignal stop) : IWaitCondition
    {
        public bool IsSatisfied() => work.HasAtMost(level) || stop.IsStopRequested;
    }

    /// <summary>The caller's wait condition: the worker has applied everything, or the engine is stopping.</summary>
    private readonly struct DrainedOrStop(SpscRing<DecompressWorkItem> work, StopSignal stop) : IWaitCondition
    {
        public bool IsSatisfied() => work.IsDrained || stop.IsStopRequested;
    }
}
