using Engine.Transport;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// How pages leave the source in one wire mode, for <see cref="PrecopyDriver"/>, which keeps every rule of pre-copy
/// (bitmaps, sections, rounds, pausing, rate limit, statistics of the framing, failures). A sender writes page records and
/// accounts for them (statistics and rate limiter); it never touches the bitmaps or the section framing.
/// </summary>
/// <remarks>
/// Design: only the migration thread calls a sender, in this order: <see cref="Open"/> once (after the stream's header
/// and configuration are written); then per section any number of <see cref="SendPages"/> and one
/// <see cref="EndSection"/>; <see cref="Finish"/> once after the stream's EOF; <see cref="IDisposable.Dispose"/> always,
/// also after a failure. <see cref="SendPages"/> takes a batch of dirty pages of one block, so there is one virtual call per
/// batch and the per-page work stays in the sender's own loop.
/// </remarks>
internal abstract class PageSender : IDisposable
{
    /// <summary>The most pages the driver ever hands over in one call (the size of its offsets buffer on the stack).</summary>
    public const int MostPagesPerCall = 128;

    /// <summary>The most pages one <see cref="SendPages"/> call takes (at most <see cref="MostPagesPerCall"/>).</summary>
    public abstract int MaxBatchPages { get; }

    /// <summary>What a failure calls the migration: "{Name} failed: reason".</summary>
    public abstract string Name { get; }

    /// <summary>
    /// Threads of the sender that keep a core busy while pages are sent: the compressing multifd channels or compress
    /// workers. Channels that only copy and write (multifd none) wait on their connections and count none.
    /// </summary>
    public virtual int BusyThreads => 0;

    /// <summary>
    /// Starts the sender's own machinery (workers, connections) for a stream written by <paramref name="writer"/>, which
    /// holds the stream's header and configuration, not yet flushed: the setup section follows in the same flush unless the
    /// sender flushes first (multifd, whose channels connect after the main connection's first bytes).
    /// </summary>
    public abstract void Open(MigrationStreamWriter writer, RateLimiter limiter, CancellationToken cancellationToken);

    /// <summary>
    /// Sends the pages at <paramref name="offsets"/> (page-aligned, ascending, each once in the section) of block
    /// <paramref name="blockIndex"/>. A sender may hold pages back until <see cref="EndSection"/>; it reads each page when
    /// it sends it, so a page the guest writes meanwhile goes out in a version at least as new as the bitmap's sync.
    /// </summary>
    public abstract void SendPages(int blockIndex, ReadOnlySpan<long> offsets);

    /// <summary>
    /// Before the section's EOS: every page handed over is written (its page records on the main stream, multifd: its
    /// packets, then a SYNC on every channel), so the section's pages are all at the destination before the next section.
    /// </summary>
    public abstract void EndSection();

    /// <summary>Throws when the sender's machinery failed on its own threads (checked every 64 pages and while waiting).</summary>
    public virtual void ThrowIfFailed()
    {
    }

    /// <summary>After the stream's EOF: ends the sender's connections; returns the bytes it wrote beside the main stream.</summary>
    public virtual long Finish() => 0;

    /// <summary>Stops every thread the sender started and frees its buffers, whatever state it is in.</summary>
    public abstract void Dispose();
}
