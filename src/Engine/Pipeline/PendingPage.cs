using Engine.Memory;

namespace Engine.Pipeline;

/// <summary>
/// The caller's record of one submission (a batch of 1 to the engine's batch size pages of one block), kept in submission
/// order until its result is released. Caller-private, so it may hold the block's reference (the rings only carry
/// unmanaged items).
/// </summary>
internal struct PendingPage
{
    /// <summary>A worker index, or this for a batch the caller took itself because no worker was free.</summary>
    public const int Busy = -1;

    /// <summary>The pages' block (null once released, so the order ring keeps no block alive).</summary>
    public RamBlock? Block;

    /// <summary>The first page's offset in <see cref="Block"/>.</summary>
    public long Offset;

    /// <summary>The worker that has the batch, or <see cref="Busy"/>.</summary>
    public int Worker;

    /// <summary>The batch slot: the worker's, or the caller's busy pool's.</summary>
    public int Slot;

    /// <summary>The number of pages.</summary>
    public int Count;
}
