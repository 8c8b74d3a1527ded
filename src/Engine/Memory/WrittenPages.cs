using System.Runtime.CompilerServices;

namespace Engine.Memory;

/// <summary>
/// A destination's bit per page of one RAM block: set once the page has been written, clear while it is still all zero
/// (never written, or made zero again by a zero page). Lets the destination leave memory it never wrote untouched: a zero
/// page for a clear bit is not read (on Linux a read fault in a <c>MADV_HUGEPAGE</c> region allocates and zeroes 2 MiB), and
/// <see cref="Migration.MemoryChecksum"/> hashes a chunk with no bit set from zeros instead of reading it.
/// </summary>
/// <remarks>
/// <para>
/// Design: one bitmap is shared by the threads that write the block: the receive loop's thread (main stream records, the
/// decompress engine's submissions), the multifd channels' threads, mapped-ram's loader threads. Pages of one 64-bit word
/// can be written by different threads at the same time (two channels' packets, two loader ranges), so every change of a
/// word is an <see cref="Interlocked.Or(ref ulong, ulong)"/> or <see cref="Interlocked.And(ref ulong, ulong)"/>; a plain
/// read first skips the atomic when the page's own bit already has the wanted value.
/// </para>
/// <para>
/// Why the plain read is enough: a page's own bit is only changed by the thread that writes that page, and two threads
/// write one page only on opposite sides of a barrier (the multifd SYNC and the main stream's EOS or MULTIFD_FLUSH, the
/// decompress engine's <c>WaitForDone</c>, the loader's join), which orders both the page's bytes and its bit. Other bits
/// of the word may change under the read; they are never acted on. <see cref="AnyWritten"/> runs after every writer has
/// finished (the checksum at the end of the migration).
/// </para>
/// <para>
/// A zero page clears the bit (<see cref="TryClear"/>) as it clears the page: the page's content is zero again, so a later
/// zero page has nothing to do and the checksum may hash it as zeros, which is what the page holds.
/// </para>
/// </remarks>
internal sealed class WrittenPages
{
    private readonly ulong[] _words;

    /// <summary>A bitmap of <paramref name="pageCount"/> pages, none written.</summary>
    public WrittenPages(long pageCount)
    {
        _words = PageBits.Allocate(pageCount);
        PageCount = pageCount;
    }

    /// <summary>The number of pages the bitmap covers.</summary>
    public long PageCount { get; }

    /// <summary>Marks <paramref name="page"/> written (any thread; <paramref name="page"/> checked by the caller).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Mark(long page) => PageBits.SetOwnAtomic(_words, page);

    /// <summary>Marks the <paramref name="count"/> pages from <paramref name="first"/> written (any thread).</summary>
    public void Mark(long first, long count) => PageBits.SetRangeAtomic(_words, first, count);

    /// <summary>
    /// Clears <paramref name="page"/>'s bit and returns whether it was set: true when the page may hold data and must be
    /// made zero, false when it is zero already (any thread; <paramref name="page"/> checked by the caller).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryClear(long page) => PageBits.TryClearOwnAtomic(_words, page);

    /// <summary>True when <paramref name="page"/> is marked written.</summary>
    public bool IsWritten(long page) => PageBits.IsSet(_words, page);

    /// <summary>
    /// The first page from <paramref name="page"/> (inclusive) to <paramref name="end"/> (exclusive) whose bit is not
    /// <paramref name="written"/>, or <paramref name="end"/>: where a run of written (or unwritten) pages ends. After every
    /// writer has finished (the checksum).
    /// </summary>
    public long RunEnd(long page, long end, bool written) => PageBits.RunEnd(_words, page, Math.Min(end, PageCount), written);

    /// <summary>True when any of the <paramref name="count"/> pages from <paramref name="first"/> is marked written.</summary>
    public bool AnyWritten(long first, long count) => PageBits.AnySet(_words, first, Math.Min(first + count, PageCount));
}
