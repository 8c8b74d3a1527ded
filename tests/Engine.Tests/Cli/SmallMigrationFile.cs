using Engine.Codecs;
using Engine.Memory;
using Engine.Tests.Wire.Support;
using Engine.Wire;

namespace Engine.Tests.Cli;

/// <summary>
/// A small migration file made with <see cref="MigrationStreamWriter"/> for the stream commands: header, configuration,
/// RAM with two blocks (zero, raw, zlib level 1 and 9, and zstd pages, a page sent twice), RAM's END, then bytes that
/// stand for QEMU's device sections, EOF and VM description. It knows the block images it must extract to.
/// </summary>
internal sealed class SmallMigrationFile
{
    public const string MainBlock = "pc.ram";
    public const string RomBlock = "/rom@etc/acpi/tables";
    public const int MainPages = 8;
    public const int RomPages = 2;

    private SmallMigrationFile(byte[] bytes, byte[] tail, byte[] mainImage, byte[] romImage, long truncatedPageBody)
    {
        Bytes = bytes;
        Tail = tail;
        MainImage = mainImage;
        RomImage = romImage;
        TruncatedPageBody = truncatedPageBody;
    }

    /// <summary>The whole file.</summary>
    public byte[] Bytes { get; }

    /// <summary>What follows RAM's END: transcode must copy it verbatim.</summary>
    public byte[] Tail { get; }

    /// <summary>The image of <see cref="MainBlock"/> the file describes.</summary>
    public byte[] MainImage { get; }

    /// <summary>The image of <see cref="RomBlock"/>.</summary>
    public byte[] RomImage { get; }

    /// <summary>The byte offset of a raw page's 4096 bytes in the END section, where <see cref="Truncated"/> cuts.</summary>
    public long TruncatedPageBody { get; }

    /// <summary>The file cut 100 bytes into the raw page at <see cref="TruncatedPageBody"/>.</summary>
    public byte[] Truncated => Bytes.AsSpan(0, (int)TruncatedPageBody + 100).ToArray();

    public static SmallMigrationFile Create()
    {
        var main = new byte[MainPages * PageSizes.PageSize];
        var rom = new byte[RomPages * PageSizes.PageSize];
        var output = new MemoryStream();
        long pageBody;
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-i440fx-7.2");
            writer.WriteRamSetupSection(2, new[] { new RamBlockInfo(MainBlock, main.Length), new RamBlockInfo(RomBlock, rom.Length) });

            writer.WriteSectionHeader(SectionType.Part, 2);
            Raw(writer, main, 0, 0, StreamBuilder.TextPage(1));
            writer.WriteZeroPage(0, 0x1000);
            Compressed(writer, main, 0, 0x2000, CompressMethod.Zlib, 1, StreamBuilder.TextPage(2));
            Compressed(writer, main, 0, 0x3000, CompressMethod.Zstd, 3, StreamBuilder.TextPage(3));
            Raw(writer, rom, 1, 0, StreamBuilder.RandomPage(4));
            Compressed(writer, main, 0, 0x5000, CompressMethod.Zlib, 9, StreamBuilder.TextPage(5));
            writer.EndRamSection();

            // The last round: pages sent again (new content; zero over data), a zero page, and a random page.
            writer.WriteSectionHeader(SectionType.End, 2);
            Compressed(writer, main, 0, 0x0000, CompressMethod.Zstd, 1, StreamBuilder.TextPage(6));
            writer.WriteZeroPage(1, 0x1000);
            Raw(writer, main, 0, 0x7000, StreamBuilder.RandomPage(7));
            pageBody = writer.Position - PageSizes.PageSize;
            writer.WriteZeroPage(0, 0x5000);
            main.AsSpan(0x5000, PageSizes.PageSize).Clear();
            writer.EndRamSection();
        }

        // QEMU's device sections would follow; the stream commands never parse past RAM's END, so any bytes do.
        byte[] tail = new byte[] { 0x04, 0x00, 0x00, 0x00, 0x03 }.Concat(StreamBuilder.RandomPage(8).AsSpan(0, 300).ToArray()).Append((byte)0x00).ToArray();
        output.Write(tail);
        return new SmallMigrationFile(output.ToArray(), tail, main, rom, pageBody);
    }

    /// <summary>Writes the file to <paramref name="path"/> and returns the path.</summary>
    public string WriteTo(string path)
    {
        File.WriteAllBytes(path, Bytes);
        return path;
    }

    private static void Raw(MigrationStreamWriter writer, byte[] image, int block, int offset, byte[] page)
    {
        writer.WriteRawPage(block, offset, page);
        page.CopyTo(image, offset);
    }

    private static void Compressed(MigrationStreamWriter writer, byte[] image, int block, int offset, CompressMethod method, int level, byte[] page)
    {
        // The test's own codecs (not Engine's) make the payloads, so the CLI is checked against an independent encoder.
        writer.WriteCompressedPage(block, offset, TestCodecs.CompressPage(method, level, page));
        page.CopyTo(image, offset);
    }
}
