using System.Numerics;
using System.Runtime.CompilerServices;

namespace Engine.Memory;

/// <summary>
/// One bit per guest page: set when the page has been written and not yet sent.
/// </summary>
/// <remarks>
/// <para>
/// Design: a bitmap plays one of two roles, and the methods say which role they belong to.
/// </para>
/// <list type="bullet">
/// <item><description>
/// The guest's dirty log (KVM's dirty log in QEMU). Any number of writer threads call <see cref="MarkDirty"/>
/// concurrently, with no lock: each bit is set with <see cref="Interlocked.Or(ref ulong, ulong)"/> on its 64-bit word.
/// One thread, the migration, empties it with <see cref="SyncInto"/>, which takes and clears each word with
/// <see cref="Interlocked.Exchange(ref ulong, ulong)"/>.
/// </description></item>
/// <item><description>
/// The migration's own bitmap (QEMU's <c>RAMBlock.bmap</c>): pages still to send. Only the migration thread touches it
/// (<see cref="TestAndClear"/>, <see cref="FindNextDirty"/>, <see cref="SetAll"/>, <see cref="DirtyCount"/>), so these
/// use plain reads and writes.
/// </description></item>
/// </list>
/// <para>
/// Why no dirtied page is ever lost: a writer changes the page first and marks it second; the interlocked OR is a full
/// fence, so the page's new bytes are visible before the bit is. The migration takes the word (a full fence too) before
/// it reads any page of it. If the OR came first, this sync sees the bit and the page is read after the write; if the
/// exchange came first, the bit stays set for the next sync. A page written while the migration copies it is therefore
/// always sent again later.
/// </para>
/// <para>
/// Why writers always OR instead of testing the bit first: a writer that saw the bit already set and skipped the OR would
/// have no fence between its page store and its bit load, and on x86 that store may still sit in the store buffer while
/// the migration takes the word and copies the page: the write would be lost for good.
/// </para>
/// </remarks>
public sealed class DirtyBitmap
{
    private readonly ulong[] _words;

    // Migration role only: number of set bits, kept up to date by the migration-side methods.
    private long _dirtyCount;

    /// <summary>Creates a bitmap of <paramref name="pageCount"/> clean pages.</summary>
    public DirtyBitmap(long pageCount)
    {
        _words = PageBits.Allocate(pageCount);
        PageCount = pageCount;
    }

    /// <summary>Number of pages the bitmap covers.</summary>
    public long PageCount { get; }

    /// <summary>
    /// Migration role: number of dirty pages, maintained by <see cref="SyncInto"/> (on the target), <see cref="TestAndClear"/>,
    /// <see cref="SetAll"/> and <see cref="ClearAll"/>. Not meaningful for a bitmap in the guest's dirty-log role, whose bits
    /// are set by <see cref="MarkDirty"/> without counting (use <see cref="CountDirty"/>).
    /// </summary>
    public long DirtyCount => Volatile.Read(ref _dirtyCount); // read by progress reporting on other threads

    /// <summary>
    /// Dirty-log role, any thread: marks <paramref name="page"/> dirty. Call it after the page's bytes are written.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void MarkDirty(long page)
    {
        if ((ulong)page >= (ulong)PageCount)
        {
            ThrowPageOutOfRange(page);
        }

        // Full fence: publishes the page's new bytes before the bit (see the class remarks).
        PageBits.SetAtomic(_words, page);
    }

    /// <summary>Whether <paramref name="page"/> is dirty (a snapshot; in the dirty-log role it may change at once).</summary>
    public bool IsDirty(long page)
    {
        if ((ulong)page >= (ulong)PageCount)
        {
            ThrowPageOutOfRange(page);
        }

        return PageBits.IsSet(_words, page);
    }

    /// <summary>
    /// Dirty-log role, migration thread: takes and clears every word of this bitmap and ORs it into
    /// <paramref name="target"/> (the migration's bitmap, same size). Returns the number of pages that became dirty in the
    /// target, i.e. were dirtied here and not already pending there (QEMU's <c>num_dirty_pages_period</c> increment).
    /// </summary>
    public long SyncInto(DirtyBitmap target)
    {
        ArgumentNullException.ThrowIfNull(target);
        if (target.PageCount != PageCount)
        {
            throw new ArgumentException($"target bitmap covers {target.PageCount} pages, this one {PageCount}", nameof(target));
        }

        if (ReferenceEquals(target, this))
        {
            throw new ArgumentException("a bitmap cannot sync into itself", nameof(target));
        }

        ulong[] source = _words;
        ulong[] destination = target._words;
        long added = 0;
        for (int i = 0; i < source.Length; i++)
        {
            // Cheap read first: most words of a large guest are clean, and an exchange on a clean word would still take the
            // cache line exclusive. A bit set after this read is simply left for the next sync.
            if (Volatile.Read(ref source[i]) == 0)
            {
                continue;
            }

            // Full fence: the page bytes published before the bit are visible to the page reads that follow.
            ulong taken = Interlocked.Exchange(ref source[i], 0);
            ulong fresh = taken & ~destination[i];
            destination[i] |= taken;
            added += BitOperations.PopCount(fresh);
        }

        target.AddCount(added);
        return added;
    }

    /// <summary>
    /// Migration role: marks <paramref name="page"/> pending (to be sent) and returns true if it was not already; for a
    /// host's <see cref="Migration.IDirtyLog"/> that keeps its own record of written pages.
    /// </summary>
    public bool MarkPending(long page)
    {
        if ((ulong)page >= (ulong)PageCount)
        {
            ThrowPageOutOfRange(page);
        }

        if (!PageBits.TrySet(_words, page))
        {
            return false;
        }

        AddCount(1);
        return true;
    }

    /// <summary>Migration role: if <paramref name="page"/> is dirty, clears it and returns true.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TestAndClear(long page)
    {
        if ((ulong)page >= (ulong)PageCount)
        {
            ThrowPageOutOfRange(page);
        }

        if (!PageBits.TryClear(_words, page))
        {
            return false;
        }

        AddCount(-1);
        return true;
    }

    /// <summary>
    /// Migration role: the first dirty page at or after <paramref name="start"/>, or <see cref="PageCount"/> if there is none.
    /// </summary>
    public long FindNextDirty(long start)
    {
        if (start >= PageCount)
        {
            return PageCount;
        }

        ArgumentOutOfRangeException.ThrowIfNegative(start);
        long index = start >> PageBits.WordShift;
        ulong word = _words[index] & (ulong.MaxValue << (int)(start & PageBits.WordMask));
        while (true)
        {
            if (word != 0)
            {
                long page = (index << PageBits.WordShift) + BitOperations.TrailingZeroCount(word);
                return page < PageCount ? page : PageCount;
            }

            index++;
            if (index >= _words.Length)
            {
                return PageCount;
            }

            word = _words[index];
        }
    }

    /// <summary>Migration role: marks every page dirty (the setup pass: everything is to be sent once).</summary>
    public void SetAll()
    {
        Array.Fill(_words, ulong.MaxValue);
        int tail = (int)(PageCount & PageBits.WordMask);
        if (tail != 0)
        {
            // Bits past the last page stay clear so counts and searches never see phantom pages.
            _words[^1] = (1UL << tail) - 1;
        }

        Volatile.Write(ref _dirtyCount, PageCount);
    }

    /// <summary>Migration role: marks every page clean.</summary>
    public void ClearAll()
    {
        Array.Clear(_words);
        Volatile.Write(ref _dirtyCount, 0);
    }

    /// <summary>Counts the set bits by scanning (either role; in the dirty-log role the answer is a snapshot).</summary>
    public long CountDirty() => PageBits.Count(_words);

    private void AddCount(long delta)
    {
        // Single writer (the migration thread); the volatile write lets progress reporting read a recent value.
        Volatile.Write(ref _dirtyCount, _dirtyCount + delta);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void ThrowPageOutOfRange(long page)
        => throw new ArgumentOutOfRangeException(nameof(page), page, $"page must be in 0..{PageCount - 1}");
}
