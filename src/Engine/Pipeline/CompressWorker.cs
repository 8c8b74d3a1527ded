using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>
/// One compress thread with everything it owns: its codec context, a page-aligned input page, a ring of output slots,
/// its work ring (from the caller) and its result ring (to the caller).
/// </summary>
/// <remarks>
/// Design: the caller is the only producer of <see cref="Work"/> and the only consumer of <see cref="Results"/>; this
/// worker's thread is the other end of both. A work item is a batch of 1 to <c>batch</c> pages; item <c>k</c> uses batch
/// slot <c>k mod capacity</c>, which holds the pages' sources and offsets (written by the caller before it publishes the
/// item), their outcomes and their output bytes (written by the worker before it publishes the completion). The caller
/// never has more than <c>capacity</c> batches with this worker that it has not released (its credit), so a slot is never
/// reused while the caller still reads it, the work ring never overflows and the result ring never fills: the worker
/// never waits for the caller. The caller waits for a result on this worker's <see cref="ResultParker"/>, so a result of
/// another worker never wakes it for nothing. The caller writes a slot's page reference (<c>_slotBlocks</c>, <c>_slotOffsets</c>, only read
/// to name the page in an error) before it publishes the work item, so the ring's release/acquire pair covers it.
/// Buffers and the codec are created on the caller's thread (a failure surfaces in the engine's constructor) and freed
/// by the engine after it has joined the thread.
/// </remarks>
internal sealed unsafe partial class CompressWorker : IEngineWorker
{
    /// <summary>The bytes a slot can hold: the largest payload of any method (a raw page is smaller).</summary>
    public const int SlotCapacity = PageSizes.MaxCompressedPage;

    /// <summary>The distance between slots: <see cref="SlotCapacity"/> rounded up to a whole number of 64-byte lines.</summary>
    public const int SlotStride = (SlotCapacity + 63) & ~63;

    private readonly int _index;
    private readonly StopSignal _stop;
    private readonly IPageCompressor? _compressor;
    private readonly CompressMethod _method;
    private readonly AlignedMemoryHandle _memory;
    private readonly byte* _input;
    private readonly byte* _slots;
    private readonly int _batch;
    private readonly RamBlock?[] _slotBlocks;
    private readonly long[] _slotOffsets;
    private readonly nint[] _slotSources;
    private readonly CompressOutcome[] _outcomes;
    private Thread? _thread;

    /// <summary>Allocates the worker's buffers and rings; takes ownership of <paramref name="compressor"/> (null: method none).</summary>
    public CompressWorker(int index, int capacity, int batch, IPageCompressor? compressor, StopSignal stop)
    {
        _batch = batch;
        _index = index;
        _stop = stop;
        _compressor = compressor;
        _method = compressor?.Method ?? CompressMethod.None;
        Parker = new ThreadParker();
        ResultParker = new ThreadParker();
        Work = new SpscRing<CompressWorkItem>(capacity, consumerParker: Parker);
        Results = new SpscRing<CompressWorkItem>(capacity, consumerParker: ResultParker);
        _slotBlocks = new RamBlock?[capacity];
        _slotOffsets = new long[capacity * batch];
        _slotSources = new nint[capacity * batch];
        _outcomes = new CompressOutcome[capacity * batch];

        // One allocation: the input page first (page aligned, so the copy and the codec read aligned memory), then the
        // output of every page of every batch slot.
        _memory = AlignedMemoryHandle.Allocate((nuint)(PageSizes.PageSize + ((long)capacity * batch * SlotStride)), PageSizes.PageSize);
        _input = _memory.Pointer;
        _slots = _memory.Pointer + PageSizes.PageSize;
    }

    /// <summary>Pages for this worker. Producer: the engine's caller; consumer: this worker.</summary>
    public SpscRing<CompressWorkItem> Work { get; }

    /// <summary>This worker's finished batches, in its work order. Producer: this worker; consumer: the engine's caller.</summary>
    public SpscRing<CompressWorkItem> Results { get; }

    /// <summary>Where this worker waits for work.</summary>
    public ThreadParker Parker { get; }

    /// <summary>
    /// Where the caller waits for this worker's next result. One per worker, not one for the caller: the caller waits
    /// for the oldest page, which one worker has, and only that worker's result should wake it.
    /// </summary>
    public ThreadParker ResultParker { get; }

    /// <summary>The native bytes this worker owns (0 once freed).</summary>
    public long NativeBytes => _memory.IsClosed ? 0 : (long)_memory.Length;

    /// <summary>The first output byte of page <paramref name="page"/> of batch slot <paramref name="slot"/>.</summary>
    public byte* SlotPointer(int slot, int page) => _slots + ((nint)((slot * _batch) + page) * SlotStride);

    /// <summary>The outcome of page <paramref name="page"/> of batch slot <paramref name="slot"/> (after its completion).</summary>
    public ref readonly CompressOutcome Outcome(int slot, int page) => ref _outcomes[(slot * _batch) + page];

    /// <summary>The offset of page <paramref name="page"/> of batch slot <paramref name="slot"/> (written by the caller).</summary>
    public long SlotOffset(int slot, int page) => _slotOffsets[(slot * _batch) + page];

    /// <summary>Caller: the block of batch slot <paramref name="slot"/>, before the work item is published.</summary>
    public void SetSlotBlock(int slot, RamBlock block) => _slotBlocks[slot] = block;

    /// <summary>Caller: page <paramref name="page"/> of batch slot <paramref name="slot"/>, before the work item is published.</summary>
    public void SetSlotPage(int slot, int page, long offset, byte* source)
    {
        int i = (slot * _batch) + page;
        _slotOffsets[i] = offset;
        _slotSources[i] = (nint)source;
    }

    /// <summary>Starts the thread.</summary>
    public void Start(object owner)
        => _thread = WorkerThreads.Start(owner, $"engine-compress-{_index}", Run);

    /// <summary>Waits for the thread to end (the engine has raised its stop signal).</summary>
    public void Join() => _thread?.Join();

    /// <summary>Frees the codec and the buffers. Only after <see cref="Join"/>, or if the thread never started.</summary>
    public void Free()
    {
        try
        {
            _compressor?.Dispose();
        }
        finally
        {
            _memory.Dispose();
        }
    }
}
