using Engine.Memory;

namespace Engine.Pipeline;

/// <summary>
/// The caller's record of one submitted page, kept in submission order until the page's result is released. Caller-private,
/// so it may hold the block's reference (the rings only carry unmanaged items).
/// </summary>
internal struct PendingPage
{
    /// <summary>A worker index, or this for a page the caller took itself because no worker was free.</summary>
    public const int Busy = -1;

    /// <summary>The page's block (null once released, so the order ring keeps no block alive).</summary>
    public RamBlock? Block;

    /// <summary>The page's offset in <see cref="Block"/>.</summary>
    public long Offset;

    /// <summary>The worker that has the page, or <see cref="Busy"/>.</summary>
    public int Worker;

    /// <summary>The output slot: the worker's, or the caller's busy pool's.</summary>
    public int Slot;

    /// <summary>For a busy page: zero or raw, decided by the caller when it copied the page.</summary>
    public PageResultKind BusyKind;
}
