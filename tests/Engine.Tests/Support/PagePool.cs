using System.Buffers.Binary;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Support;

/// <summary>
/// Pre-made page contents of every <see cref="PageKind"/> (built once with <see cref="PageMix"/>), copied into guest pages
/// and stamped with a tag (the page's block and offset) so that tests can write millions of distinct pages cheaply.
/// </summary>
internal static class PagePool
{
    private const int Variants = 16;
    private static readonly byte[][][] s_pages = Build();

    /// <summary>Writes content of <paramref name="kind"/> (variant picked by <paramref name="version"/>) into a page, tagged unless zero.</summary>
    public static void Write(Span<byte> page, PageKind kind, int version, long tag)
    {
        s_pages[(int)kind][(uint)version % Variants].CopyTo(page);
        if (kind != PageKind.Zero)
        {
            // The tag makes every page unique (and, for failure tests, names the page the codec saw); the version byte makes
            // successive versions of one page differ.
            BinaryPrimitives.WriteInt64LittleEndian(page, tag);
            page[8] = (byte)version;
            page[9] = (byte)(version >> 8);
        }
    }

    /// <summary>The tag of the page at <paramref name="offset"/> of the block with index <paramref name="blockIndex"/>.</summary>
    public static long TagOf(int blockIndex, long offset) => ((long)blockIndex << 48) | offset;

    /// <summary>A kind for page number <paramref name="page"/> in version <paramref name="version"/>: the built-in mix.</summary>
    public static PageKind KindOf(long page, int version) => PageMix.KindAt((int)((page * 7) + version));

    private static byte[][][] Build()
    {
        var pages = new byte[5][][];
        foreach (PageKind kind in PageMix.Kinds)
        {
            pages[(int)kind] = new byte[Variants][];
            for (int v = 0; v < Variants; v++)
            {
                pages[(int)kind][v] = new byte[PageSizes.PageSize];
                PageMix.Fill(kind, pages[(int)kind][v], (ulong)((int)kind * 1000 + v));
            }
        }

        return pages;
    }
}
