using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>One decompress thread with its decoder, its ring of work and one payload buffer per ring slot.</summary>
/// <remarks>
/// Design: the feeding thread (the engine's caller) is the only producer of <see cref="Work"/>, this worker the only
/// consumer. The payload of the item at ring position <c>p</c> lives in slot <c>p mod capacity</c>. The worker peeks an
/// item, applies it to guest memory and only then advances, so a slot stays the worker's until the page is written and
/// the caller can never overwrite a payload that is still being read. The caller copies the payload and records the page
/// (<c>_slotBlocks</c>, <c>_slotOffsets</c>, read only to name the page in an error) before it publishes the item.
/// Advancing wakes the caller only if it is parked on this worker's ring and Head reaches the position it asked for
/// (<see cref="SpscRing{T}.WakeProducerAt"/>): the caller's one parker serves every worker, and it waits on one ring at a
/// time, so the ring starts (and, between waits, stays) at "wake never".
/// </remarks>
internal sealed unsafe partial class DecompressWorker : IEngineWorker
{
    /// <summary>The bytes a slot can hold: the largest payload of any method, or a raw page.</summary>
    public const int SlotCapacity = PageSizes.MaxCompressedPage;

    /// <summary>The distance between slots: <see cref="SlotCapacity"/> rounded up to a whole number of 64-byte lines.</summary>
    public const int SlotStride = (SlotCapacity + 63) & ~63;

    private readonly int _index;
    private readonly StopSignal _stop;
    private readonly IPageDecompressor _decompressor;
    private readonly AlignedMemoryHandle _memory;
    private readonly RamBlock?[] _slotBlocks;
    private readonly long[] _slotOffsets;
    private readonly long[] _slotStreamOffsets;
    private Thread? _thread;
    private long _appliedPages;

    /// <summary>Allocates the worker's buffers and ring; takes ownership of <paramref name="decompressor"/>.</summary>
    public DecompressWorker(int index, int capacity, IPageDecompressor decompressor, ThreadParker feederParker, StopSignal stop)
    {
        _index = index;
        _stop = stop;
        _decompressor = decompressor;
        Parker = new ThreadParker();
        Work = new SpscRing<DecompressWorkItem>(capacity, consumerParker: Parker, producerParker: feederParker);

        // The caller is not waiting on this ring yet. Published to the thread by Thread.Start.
        Work.WakeProducerAt(long.MaxValue);
        _slotBlocks = new RamBlock?[capacity];
        _slotOffsets = new long[capacity];
        _slotStreamOffsets = new long[capacity];
        _memory = AlignedMemoryHandle.Allocate((nuint)(capacity * SlotStride), PageSizes.PageSize);
    }

    /// <summary>Pages for this worker. Producer: the engine's caller; consumer: this worker.</summary>
    public SpscRing<DecompressWorkItem> Work { get; }

    /// <summary>Where this worker waits for work.</summary>
    public ThreadParker Parker { get; }

    /// <summary>The native bytes this worker owns (0 once freed).</summary>
    public long NativeBytes => _memory.IsClosed ? 0 : (long)_memory.Length;

    /// <summary>Pages this worker has written to guest memory.</summary>
    public long AppliedPages => Volatile.Read(ref _appliedPages); // Acquire: pairs with the worker's release store.

    /// <summary>The first byte of payload slot <paramref name="slot"/>.</summary>
    public byte* SlotPointer(int slot) => _memory.Pointer + ((nint)slot * SlotStride);

    /// <summary>Caller: records which page goes into <paramref name="slot"/>, before the work item is published.</summary>
    public void SetSlotPage(int slot, RamBlock block, long offset, long streamOffset)
    {
        _slotBlocks[slot] = block;
        _slotOffsets[slot] = offset;
        _slotStreamOffsets[slot] = streamOffset;
    }

    /// <summary>Starts the thread.</summary>
    public void Start(object owner)
        => _thread = WorkerThreads.Start(owner, $"engine-decompress-{_index}", Run);

    /// <summary>Waits for the thread to end (the engine has raised its stop signal).</summary>
    public void Join() => _thread?.Join();

    /// <summary>Frees the decoder and the buffers. Only after <see cref="Join"/>, or if the thread never started.</summary>
    public void Free()
    {
        try
        {
            _decompressor.Dispose();
        }
        finally
        {
            _memory.Dispose();
        }
    }
}
