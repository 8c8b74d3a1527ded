using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// The guest's dirty log, as the host keeps it (KVM's dirty log in QEMU): which pages were written since the source
/// migration last asked. The migration asks at setup and at every sync, always from its own thread.
/// </summary>
/// <remarks>
/// A page must be reported dirty after its new bytes are in memory, and a page written while the migration reads it must
/// be reported at a later sync: then no write is ever lost (the migration sends every reported page again).
/// <see cref="DirtyPageLog"/> is a ready-made log that any number of host threads mark without a lock.
/// </remarks>
public interface IDirtyLog
{
    /// <summary>
    /// Adds the pages of block <paramref name="blockIndex"/> (in <see cref="MigrationGuest.Memory"/>'s order) written since
    /// the last call to <paramref name="pending"/> (<see cref="DirtyBitmap.MarkPending"/>), forgets them, and returns how
    /// many were added.
    /// </summary>
    long SyncInto(int blockIndex, DirtyBitmap pending);
}
