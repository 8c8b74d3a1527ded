using System.Numerics;
using System.Runtime.CompilerServices;

namespace Engine.Memory;

/// <summary>
/// The arithmetic of a bit per page kept in 64-bit words, as QEMU keeps its bitmaps: page <c>p</c> is bit <c>p % 64</c>
/// of word <c>p / 64</c>. Shared by <see cref="DirtyBitmap"/>, <see cref="WrittenPages"/> and the mapped-ram bitmaps.
/// </summary>
/// <remarks>
/// Only arithmetic and the one memory operation each method names (plain, <see cref="Volatile"/> or
/// <see cref="Interlocked"/>); which one a caller needs is the caller's design, written where it is used. Pages are not
/// range-checked here: the callers check them, or own the only index they pass.
/// </remarks>
internal static class PageBits
{
    /// <summary>log2 of the pages per word.</summary>
    public const int WordShift = 6;

    /// <summary>The page's bit number within its word is <c>page &amp; WordMask</c>.</summary>
    public const int WordMask = 63;

    /// <summary>The number of words that hold <paramref name="pageCount"/> bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static long WordCount(long pageCount) => (pageCount + WordMask) >> WordShift;

    /// <summary>A bitmap of <paramref name="pageCount"/> clear bits.</summary>
    public static ulong[] Allocate(long pageCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(pageCount);
        return new ulong[WordCount(pageCount)];
    }

    /// <summary>The word that holds <paramref name="page"/>'s bit.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ref ulong Word(ulong[] words, long page) => ref words[page >> WordShift];

    /// <summary><paramref name="page"/>'s bit within its word.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Bit(long page) => 1UL << (int)(page & WordMask);

    /// <summary>
    /// The bits of the pages from <paramref name="page"/> up to <paramref name="end"/> (exclusive) that lie in
    /// <paramref name="page"/>'s word; <paramref name="pages"/> is how many they are (the step to the next word's run).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong RunMask(long page, long end, out int pages)
    {
        int shift = (int)(page & WordMask);
        pages = (int)Math.Min(64 - shift, end - page);
        return pages == 64 ? ulong.MaxValue : ((1UL << pages) - 1) << shift;
    }

    /// <summary>Whether <paramref name="page"/>'s bit is set, read with <see cref="Volatile"/>.Read.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsSet(ulong[] words, long page) => (Volatile.Read(ref Word(words, page)) & Bit(page)) != 0;

    /// <summary>Plain read and write: sets <paramref name="page"/>'s bit and returns true if it was clear.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TrySet(ulong[] words, long page)
    {
        ref ulong word = ref Word(words, page);
        ulong bit = Bit(page);
        if ((word & bit) != 0)
        {
            return false;
        }

        word |= bit;
        return true;
    }

    /// <summary>Plain read and write: clears <paramref name="page"/>'s bit and returns true if it was set.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryClear(ulong[] words, long page)
    {
        ref ulong word = ref Word(words, page);
        ulong bit = Bit(page);
        if ((word & bit) == 0)
        {
            return false;
        }

        word &= ~bit;
        return true;
    }

    /// <summary>Sets <paramref name="page"/>'s bit with <see cref="Interlocked.Or(ref ulong, ulong)"/>, a full fence.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetAtomic(ulong[] words, long page) => Interlocked.Or(ref Word(words, page), Bit(page));

    /// <summary>
    /// Sets <paramref name="page"/>'s bit with <see cref="Interlocked.Or(ref ulong, ulong)"/>, after a
    /// <see cref="Volatile"/> read that skips the atomic when it is set already. For a bit only one thread at a time
    /// changes (its page's writer) in a word whose other bits other threads may change.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void SetOwnAtomic(ulong[] words, long page)
    {
        ref ulong word = ref Word(words, page);
        ulong bit = Bit(page);
        if ((Volatile.Read(ref word) & bit) == 0)
        {
            Interlocked.Or(ref word, bit);
        }
    }

    /// <summary>
    /// Clears <paramref name="page"/>'s bit with <see cref="Interlocked.And(ref ulong, ulong)"/> and returns true if it
    /// was set; a <see cref="Volatile"/> read first skips the atomic when it is clear. For a bit only one thread at a time
    /// changes, as <see cref="SetOwnAtomic"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool TryClearOwnAtomic(ulong[] words, long page)
    {
        ref ulong word = ref Word(words, page);
        ulong bit = Bit(page);
        if ((Volatile.Read(ref word) & bit) == 0)
        {
            return false;
        }

        Interlocked.And(ref word, ~bit);
        return true;
    }

    /// <summary>Sets the bits of the <paramref name="count"/> pages from <paramref name="first"/>, one interlocked OR a word.</summary>
    public static void SetRangeAtomic(ulong[] words, long first, long count)
    {
        long end = first + count;
        long page = first;
        while (page < end)
        {
            ulong mask = RunMask(page, end, out int pages);
            Interlocked.Or(ref Word(words, page), mask);
            page += pages;
        }
    }

    /// <summary>
    /// Whether any of the pages from <paramref name="first"/> up to <paramref name="end"/> (exclusive) has its bit set, each
    /// word read with <see cref="Volatile"/>.Read.
    /// </summary>
    public static bool AnySet(ulong[] words, long first, long end)
    {
        long page = first;
        while (page < end)
        {
            ulong mask = RunMask(page, end, out int pages);
            if ((Volatile.Read(ref Word(words, page)) & mask) != 0)
            {
                return true;
            }

            page += pages;
        }

        return false;
    }

    /// <summary>
    /// The first page from <paramref name="page"/> up to <paramref name="end"/> (exclusive) whose bit is not
    /// <paramref name="set"/>, or <paramref name="end"/>: where a run of set (or clear) bits ends. Each word read with
    /// <see cref="Volatile"/>.Read.
    /// </summary>
    public static long RunEnd(ulong[] words, long page, long end, bool set)
    {
        while (page < end)
        {
            int shift = (int)(page & WordMask);
            ulong word = Volatile.Read(ref Word(words, page));
            ulong differs = (set ? ~word : word) >> shift; // bit 0 is this page; the vacated high bits read as "same"
            if (differs != 0)
            {
                return Math.Min(page + BitOperations.TrailingZeroCount(differs), end);
            }

            page += 64 - shift;
        }

        return end;
    }

    /// <summary>The number of set bits, each word read with <see cref="Volatile"/>.Read.</summary>
    public static long Count(ulong[] words)
    {
        long count = 0;
        for (int i = 0; i < words.Length; i++)
        {
            count += BitOperations.PopCount(Volatile.Read(ref words[i]));
        }

        return count;
    }
}
