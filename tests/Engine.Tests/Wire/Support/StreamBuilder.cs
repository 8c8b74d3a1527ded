using Engine.Codecs;
using Engine.Memory;
using Engine.Tools;
using Engine.Wire;

namespace Engine.Tests.Wire.Support;

/// <summary>Builds small test streams through <see cref="MigrationStreamWriter"/>.</summary>
internal static class StreamBuilder
{
    public const uint RamSectionId = 2;

    public static readonly RamBlockInfo[] TwoBlocks =
    {
        new("pc.ram", 16 * PageSizes.PageSize),
        new("/rom@etc/acpi/tables", 2 * PageSizes.PageSize),
    };

    /// <summary>A page with content that compresses but is not trivial.</summary>
    public static byte[] TextPage(int seed)
    {
        var page = new byte[PageSizes.PageSize];
        for (int i = 0; i < page.Length; i++)
        {
            page[i] = (byte)"the quick brown fox jumps over the lazy dog "[(i + seed) % 44];
        }

        page[0] = (byte)seed;
        return page;
    }

    public static byte[] RandomPage(int seed)
    {
        var page = new byte[PageSizes.PageSize];
        new Random(seed).NextBytes(page);
        return page;
    }

    /// <summary>
    /// A complete small stream with every record kind the writer makes: header, configuration, START with two blocks,
    /// a PART with raw, zero, zlib and zstd pages and a block change, an END with more pages, EOF.
    /// </summary>
    public static byte[] SmallStream(bool withEof = true)
    {
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-i440fx-7.2");
            writer.WriteRamSetupSection(RamSectionId, TwoBlocks);
            writer.WriteSectionHeader(SectionType.Part, RamSectionId);
            writer.WriteRawPage(0, 0, TextPage(1));
            writer.WriteZeroPage(0, 0x1000);
            writer.WriteCompressedPage(0, 0x2000, TestCodecs.CompressPage(CompressMethod.Zlib, 1, TextPage(2)));
            writer.WriteCompressedPage(0, 0x3000, TestCodecs.CompressPage(CompressMethod.Zstd, 3, TextPage(3)));
            writer.WriteRawPage(1, 0x1000, RandomPage(4));
            writer.WriteCompressedPage(0, 0x4000, TestCodecs.CompressPage(CompressMethod.Zlib, 9, TextPage(5)));
            writer.EndRamSection();
            writer.WriteSectionHeader(SectionType.End, RamSectionId);
            writer.WriteRawPage(0, 0xF000, RandomPage(6));
            writer.WriteZeroPage(1, 0);
            writer.EndRamSection();
            if (withEof)
            {
                writer.WriteEof();
            }
        }

        return output.ToArray();
    }

    public static MigrationStreamReader Reader(byte[] stream, bool stopAfterRamEnd = false)
        => new(new MemoryStream(stream), new MigrationStreamReaderOptions { StopAfterRamEnd = stopAfterRamEnd });

    /// <summary>Reads a whole stream through the reader and a memory sink.</summary>
    public static MemoryRamSink Load(byte[] stream, bool stopAfterRamEnd = false)
    {
        var sink = new MemoryRamSink();
        using MigrationStreamReader reader = Reader(stream, stopAfterRamEnd);
        RamStreamLoader.Load(reader, sink);
        return sink;
    }
}
