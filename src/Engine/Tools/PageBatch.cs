using Engine.Codecs;
using Engine.Memory;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>
/// A batch of page records taken from a stream in order, processed by a few worker threads (decompress, compress), then
/// applied or written in the original order by the caller's thread.
/// </summary>
/// <remarks>
/// Design: the reading thread copies each record's payload into a slot (payload spans die with the next Read), workers
/// then process disjoint slots (slot i goes to worker i mod N, so work stays balanced whatever the page mix) and share
/// nothing else, and the reading thread waits for all of them before it looks at any result. Ordering across records of
/// the same page is therefore the stream's order, with no per-page locking. Buffers are allocated once per batch object;
/// nothing is allocated per page.
/// </remarks>
internal sealed class PageBatch
{
    /// <summary>Records per batch: 256 pages (1 MiB of guest RAM) amortise the hand-off to workers.</summary>
    public const int DefaultCapacity = 256;

    private const int SlotSize = PageSizes.MaxCompressedPage;

    private readonly byte[] _input;
    private readonly byte[] _output;
    private readonly Action<int>[] _workerBodies;
    private Action<int, int>? _work;

    public PageBatch(int capacity, int workers)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(workers, 1);
        Capacity = capacity;
        Workers = workers;
        _input = GC.AllocateUninitializedArray<byte>(capacity * SlotSize);
        _output = GC.AllocateUninitializedArray<byte>(capacity * SlotSize);
        Kinds = new MigrationItemKind[capacity];
        Blocks = new int[capacity];
        Offsets = new long[capacity];
        StreamOffsets = new long[capacity];
        InputLengths = new int[capacity];
        Methods = new CompressMethod[capacity];
        OutputKinds = new MigrationItemKind[capacity];
        OutputLengths = new int[capacity];
        OutputFromInput = new bool[capacity];
        Statuses = new DecompressStatus[capacity];
        _workerBodies = new Action<int>[] { RunWorker };
    }

    public int Capacity { get; }

    public int Workers { get; }

    public int Count { get; private set; }

    public bool IsFull => Count == Capacity;

    public MigrationItemKind[] Kinds { get; }

    public int[] Blocks { get; }

    public long[] Offsets { get; }

    public long[] StreamOffsets { get; }

    public int[] InputLengths { get; }

    public CompressMethod[] Methods { get; }

    /// <summary>Set by workers: what to write for the slot.</summary>
    public MigrationItemKind[] OutputKinds { get; }

    public int[] OutputLengths { get; }

    /// <summary>Set by workers: the slot's result is its input bytes unchanged (a raw page kept raw).</summary>
    public bool[] OutputFromInput { get; }

    public DecompressStatus[] Statuses { get; }

    public int Add(MigrationItemKind kind, int block, long offset, ReadOnlySpan<byte> payload, CompressMethod method, long streamOffset)
    {
        int slot = Count++;
        Kinds[slot] = kind;
        Blocks[slot] = block;
        Offsets[slot] = offset;
        StreamOffsets[slot] = streamOffset;
        Methods[slot] = method;
        InputLengths[slot] = payload.Length;
        payload.CopyTo(_input.AsSpan(slot * SlotSize, SlotSize));
        Statuses[slot] = DecompressStatus.Ok;
        OutputFromInput[slot] = false;
        OutputLengths[slot] = 0;
        OutputKinds[slot] = kind;
        return slot;
    }

    public ReadOnlySpan<byte> Input(int slot) => _input.AsSpan(slot * SlotSize, InputLengths[slot]);

    /// <summary>The slot's whole output area (room for the largest compressed page).</summary>
    public Span<byte> OutputArea(int slot) => _output.AsSpan(slot * SlotSize, SlotSize);

    /// <summary>The slot's result bytes, from the input or the output area as the worker decided.</summary>
    public ReadOnlySpan<byte> Result(int slot)
        => OutputFromInput[slot] ? Input(slot) : _output.AsSpan(slot * SlotSize, OutputLengths[slot]);

    public void Clear() => Count = 0;

    /// <summary>Runs <paramref name="work"/>(worker, slot) over every slot and returns when all are done.</summary>
    public void Run(Action<int, int> work)
    {
        _work = work;
        try
        {
            if (Workers == 1 || Count <= 1)
            {
                RunWorker(0);
            }
            else
            {
                Parallel.For(0, Math.Min(Workers, Count), new ParallelOptions { MaxDegreeOfParallelism = Workers }, _workerBodies[0]);
            }
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        finally
        {
            _work = null;
        }
    }

    private void RunWorker(int worker)
    {
        Action<int, int> work = _work!;
        int stride = Math.Min(Workers, Count);
        for (int slot = worker; slot < Count; slot += stride)
        {
            work(worker, slot);
        }
    }
}
