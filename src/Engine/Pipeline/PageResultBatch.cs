using Engine.Memory;

namespace Engine.Pipeline;

/// <summary>
/// The results of one submission of several pages, in the order they were submitted. <c>batch[i]</c> is page
/// <c>i</c>'s <see cref="PageResult"/>; its bytes stay valid until the batch is released
/// (<see cref="CompressionEngine.Release(in PageResultBatch)"/>).
/// </summary>
public readonly struct PageResultBatch
{
    private readonly CompressionEngine? _owner;

    internal PageResultBatch(CompressionEngine owner, long sequence, RamBlock block, int worker, int slot, int count)
    {
        _owner = owner;
        Sequence = sequence;
        Block = block;
        Worker = worker;
        Slot = slot;
        Count = count;
    }

    /// <summary>The pages' RAM block.</summary>
    public RamBlock Block { get; }

    /// <summary>The number of pages.</summary>
    public int Count { get; }

    /// <summary>The position of this submission in submission order, counted from 0.</summary>
    public long Sequence { get; }

    /// <summary>True when no worker was free (compress-wait-thread off) and the caller's thread took the pages itself.</summary>
    public bool IsBusy => Worker == PendingPage.Busy;

    /// <summary>Page <paramref name="index"/>'s result (0 to <see cref="Count"/> - 1).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The index is outside the batch.</exception>
    /// <exception cref="InvalidOperationException">The batch was released, or is default.</exception>
    public PageResult this[int index]
        => _owner is null ? throw new InvalidOperationException("this batch is default: it came from no engine") : _owner.GetPage(in this, index);

    internal CompressionEngine? Owner => _owner;

    internal int Worker { get; }

    internal int Slot { get; }
}
