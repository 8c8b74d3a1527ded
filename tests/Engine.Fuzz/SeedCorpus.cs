using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using Engine.Codecs;
using Engine.Memory;
using Engine.Wire;

namespace Engine.Fuzz;

/// <summary>
/// Small valid inputs for each target, made with Engine's own writer and compressors. AFL mutates from these, so together
/// they hold every item kind the reader knows and every decoder configuration; each stays a few KiB, since AFL's speed
/// falls with input size.
/// </summary>
internal static class SeedCorpus
{
    private const uint RamSectionId = 2;

    public static int Write(string directory)
    {
        int count = 0;
        foreach ((string name, byte[] input) in ReaderSeeds())
        {
            count += WriteSeed(Path.Combine(directory, "reader"), name, input);
        }

        foreach ((string name, byte[] input) in DecoderSeeds())
        {
            count += WriteSeed(Path.Combine(directory, "decoder"), name, input);
        }

        foreach ((string name, byte[] input) in MultifdPacketProbe.Seeds())
        {
            count += WriteSeed(Path.Combine(directory, "multifd"), name, input);
        }

        return count;
    }

    public static IEnumerable<(string Name, byte[] Input)> ReaderSeeds()
    {
        RamBlockInfo[] oneBlock = { new("pc.ram", 4 * PageSizes.PageSize) };
        RamBlockInfo[] twoBlocks = { new("pc.ram", 8 * PageSizes.PageSize), new("/rom@etc/acpi/tables", 2 * PageSizes.PageSize) };

        yield return ("minimal.bin", Stream(w =>
        {
            w.WriteRamSetupSection(RamSectionId, oneBlock);
            w.WriteSectionHeader(SectionType.End, RamSectionId);
            w.WriteZeroPage(0, 0);
            w.EndRamSection();
            w.WriteEof();
        }, oneBlock));

        yield return ("pages.bin", Stream(w =>
        {
            w.WriteRamSetupSection(RamSectionId, twoBlocks);
            w.WriteSectionHeader(SectionType.Part, RamSectionId);
            w.WriteCompressedPage(0, 0x1000, Compress(CompressMethod.Zlib, 1, TextPage(1)));
            w.WriteCompressedPage(0, 0x2000, Compress(CompressMethod.Zstd, 1, TextPage(2)));
            w.WriteZeroPage(1, 0x1000);
            w.WriteCompressedPage(0, 0x3000, Compress(CompressMethod.Zlib, 9, new byte[PageSizes.PageSize]));
            w.EndRamSection();
            w.WriteSectionHeader(SectionType.End, RamSectionId);
            w.WriteRawPage(1, 0, TextPage(3));
            w.EndRamSection();
            w.WriteEof();
        }, twoBlocks));

        // Configuration subsections, a command, XBZRLE, MULTIFD_FLUSH and a VM description after EOF.
        yield return ("extras.bin", Stream(w =>
        {
            w.WriteRaw(new Bytes().U8(0x05).Counted("configuration/target-page-bits").Be32(1).Be32(PageSizes.PageShift).ToArray());
            w.WriteRaw(new Bytes().U8(0x05).Counted("configuration/capabilities").Be32(1).Be32(2).Counted("xbzrle").Counted("events").ToArray());
            w.WriteRaw(new Bytes().U8(0x05).Counted("configuration/uuid").Be32(1).Raw(new byte[16]).ToArray());
            w.WriteRaw(new Bytes().U8(0x08).Be16(2).Be16(4).Be32(1).ToArray());
            w.WriteRamSetupSection(RamSectionId, oneBlock);
            w.WriteSectionHeader(SectionType.End, RamSectionId);
            w.WriteCompressedPage(0, 0x1000, Compress(CompressMethod.Zstd, 3, TextPage(4)));
            w.WriteXbzrlePage(0, 0x1000, new byte[] { 3, 2, 0x41, 0x42, 0xC8, 0x01, 1, 0xEE });
            w.WriteMultifdFlush();
            w.WriteZeroPage(0, 0x3000);
            w.EndRamSection();
            w.WriteEof();
            byte[] json = "{\"page_size\":4096,\"devices\":[]}"u8.ToArray();
            w.WriteRaw(new Bytes().U8(0x06).Be32((uint)json.Length).Raw(json).ToArray());
        }, oneBlock));

        // QEMU 10.0 on its own machine type: SWITCHOVER_START (command 11, no body) between the last PART and END.
        yield return ("switchover-start.bin", Stream(w =>
        {
            w.WriteRamSetupSection(RamSectionId, oneBlock);
            w.WriteSectionHeader(SectionType.Part, RamSectionId);
            w.WriteRawPage(0, 0x1000, TextPage(6));
            w.EndRamSection();
            w.WriteRaw(new Bytes().U8(0x08).Be16(11).Be16(0).ToArray());
            w.WriteSectionHeader(SectionType.End, RamSectionId);
            w.WriteZeroPage(0, 0x1000);
            w.EndRamSection();
            w.WriteEof();
        }, oneBlock));

        // x-ignore-shared: every block list entry carries the block's guest address too.
        yield return ("ignore-shared.bin", Stream(w =>
        {
            w.WriteRaw(new Bytes().U8(0x05).Counted("configuration/capabilities").Be32(1).Be32(1).Counted("x-ignore-shared").ToArray());
            w.WriteRamSectionStart(RamSectionId);
            byte[] list = new Bytes().Be64((ulong)(3 * PageSizes.PageSize) | 0x04)
                .Counted("pc.ram").Be64(2 * PageSizes.PageSize).Be64(0)
                .Counted("vga.vram").Be64(PageSizes.PageSize).Be64(0xFD000000).ToArray();
            RamBlockInfo[] blocks = { new("pc.ram", 2 * PageSizes.PageSize), new("vga.vram", PageSizes.PageSize) };
            w.WriteRawRamBlockList(list, blocks);
            w.EndRamSection();
            w.WriteSectionHeader(SectionType.End, RamSectionId);
            w.WriteZeroPage(1, 0);
            w.WriteCompressedPage(0, 0x1000, Compress(CompressMethod.Zlib, 6, TextPage(5)));
            w.EndRamSection();
            w.WriteEof();
        }, blocks: null));

        // What QEMU writes after RAM: a device (FULL) section. The inspector skips it; the loader, reading on, rejects it.
        yield return ("device-after-ram.bin", Stream(w =>
        {
            w.WriteRamSetupSection(RamSectionId, oneBlock);
            w.WriteSectionHeader(SectionType.End, RamSectionId);
            w.WriteZeroPage(0, 0x2000);
            w.EndRamSection();
            w.WriteRaw(new Bytes().U8(0x04).Be32(3).Counted("timer").Be32(0).Be32(2).Be64(12345).U8(0x7E).Be32(3).ToArray());
            w.WriteEof();
        }, oneBlock));

        yield return ("mapped-ram.bin", MappedRam());
    }

    /// <summary>
    /// A QEMU 9.0+ mapped-ram file: each block list entry followed by its MappedRamHeader, bitmap and page-aligned pages
    /// region (pc.ram: page 1 present, page 0 clear with stale bytes; vga.vram: all clear); RAM sections with EOS only.
    /// </summary>
    private static byte[] MappedRam()
    {
        var file = new Bytes().Be32(MigrationFormat.FileMagic).Be32(MigrationFormat.FileVersion)
            .U8(0x07).Be32(11).Raw("pc-q35-10.0"u8)
            .U8(0x05).Counted("configuration/capabilities").Be32(1).Be32(1).Counted("mapped-ram")
            .U8(0x01).Be32(RamSectionId).Counted("ram").Be32(0).Be32(4)
            .Be64((3 * PageSizes.PageSize) | 0x04);
        foreach ((string name, int pages, byte bitmap) in new[] { ("pc.ram", 2, (byte)0x02), ("vga.vram", 1, (byte)0x00) })
        {
            file.Counted(name).Be64((ulong)(pages * PageSizes.PageSize));
            long bitmapOffset = file.Length + 28;
            long pagesOffset = (bitmapOffset + 8 + PageSizes.PageSize - 1) / PageSizes.PageSize * PageSizes.PageSize;
            file.Be32(1).Be64(PageSizes.PageSize).Be64((ulong)bitmapOffset).Be64((ulong)pagesOffset)
                .Raw([bitmap, 0, 0, 0, 0, 0, 0, 0])
                .Raw(new byte[pagesOffset - file.Length]);
            for (int i = 0; i < pages; i++)
            {
                file.Raw(TextPage(20 + i));
            }
        }

        return file.Be64(0x10).U8(0x7E).Be32(RamSectionId)
            .U8(0x02).Be32(RamSectionId).Be64(0x10).U8(0x7E).Be32(RamSectionId)
            .U8(0x03).Be32(RamSectionId).Be64(0x10).U8(0x7E).Be32(RamSectionId)
            .U8(0x00).ToArray();
    }

    public static IEnumerable<(string Name, byte[] Input)> DecoderSeeds()
    {
        byte[] zlibText = Compress(CompressMethod.Zlib, 1, TextPage(1));
        byte[] zlibZero = Compress(CompressMethod.Zlib, 9, new byte[PageSizes.PageSize]);
        byte[] zstdText = Compress(CompressMethod.Zstd, 1, TextPage(2));
        byte[] zstdZero = Compress(CompressMethod.Zstd, 3, new byte[PageSizes.PageSize]);

        yield return ("auto-zlib.bin", Seed(DecoderTarget.Selector(CompressMethod.Zlib, strict: false), zlibText));
        yield return ("auto-zstd.bin", Seed(DecoderTarget.Selector(CompressMethod.Zlib, strict: false), zstdText));
        yield return ("strict-zlib-zero.bin", Seed(DecoderTarget.Selector(CompressMethod.Zlib, strict: true), zlibZero));
        yield return ("strict-zstd-zero.bin", Seed(DecoderTarget.Selector(CompressMethod.Zstd, strict: true), zstdZero));
        yield return ("sharpziplib-zlib.bin", Seed(DecoderTarget.Selector(CompressMethod.Zlib, strict: false, sharpZipLib: true), zlibText));
        yield return ("oversized-zstd.bin", Seed(DecoderTarget.Selector(CompressMethod.Zstd, strict: false, oversized: true), zstdText));
        yield return ("oversized-zlib.bin", Seed(DecoderTarget.Selector(CompressMethod.Zlib, strict: false, oversized: true), zlibText));

        // Streams of the wrong length: a page and a byte (must not spill past the page), and a short one.
        byte[] longer = TextPage(3).Append((byte)'!').ToArray();
        yield return ("zlib-too-long.bin", Seed(DecoderTarget.Selector(CompressMethod.Zlib, strict: false, oversized: true), ZlibOf(longer)));
        yield return ("zlib-too-short.bin", Seed(DecoderTarget.Selector(CompressMethod.Zlib, strict: false), ZlibOf(TextPage(4).AsSpan(0, 100).ToArray())));
        using var zstd = new ZstdNet.Compressor();
        yield return ("zstd-too-long.bin", Seed(DecoderTarget.Selector(CompressMethod.Zstd, strict: false, oversized: true), zstd.Wrap(longer)));
    }

    private static int WriteSeed(string directory, string name, byte[] input)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllBytes(Path.Combine(directory, name), input);
        return 1;
    }

    private static byte[] Seed(byte selector, byte[] payload) => new Bytes().U8(selector).Raw(payload).ToArray();

    /// <summary>A stream: file header and configuration, then <paramref name="body"/>.</summary>
    private static byte[] Stream(Action<MigrationStreamWriter> body, IReadOnlyList<RamBlockInfo>? blocks)
    {
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-i440fx-7.2");
            body(writer);
        }

        return output.ToArray();
    }

    private static byte[] Compress(CompressMethod method, int level, byte[] page)
    {
        using IPageCompressor compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(method, level));
        var payload = new byte[compressor.MaxCompressedLength];
        if (compressor.Compress(page, payload, out int written) != CompressResult.Compressed)
        {
            throw new InvalidOperationException($"a seed page did not compress with {method}");
        }

        return payload.AsSpan(0, written).ToArray();
    }

    private static byte[] ZlibOf(byte[] data)
    {
        var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, CompressionLevel.Optimal, leaveOpen: true))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }

    /// <summary>A page of text: compresses well, but not to nothing.</summary>
    private static byte[] TextPage(int seed)
    {
        byte[] text = Encoding.ASCII.GetBytes("the quick brown fox jumps over the lazy dog ");
        var page = new byte[PageSizes.PageSize];
        for (int i = 0; i < page.Length; i++)
        {
            page[i] = text[(i + seed) % text.Length];
        }

        page[0] = (byte)seed;
        return page;
    }

    /// <summary>Big-endian fields for the items the writer has no method for.</summary>
    private sealed class Bytes
    {
        private readonly MemoryStream _output = new();

        public Bytes U8(byte value)
        {
            _output.WriteByte(value);
            return this;
        }

        public Bytes Be16(ushort value)
        {
            Span<byte> span = stackalloc byte[2];
            BinaryPrimitives.WriteUInt16BigEndian(span, value);
            return Raw(span);
        }

        public Bytes Be32(uint value)
        {
            Span<byte> span = stackalloc byte[4];
            BinaryPrimitives.WriteUInt32BigEndian(span, value);
            return Raw(span);
        }

        public Bytes Be64(ulong value)
        {
            Span<byte> span = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64BigEndian(span, value);
            return Raw(span);
        }

        public Bytes Counted(string value) => U8((byte)value.Length).Raw(Encoding.ASCII.GetBytes(value));

        public Bytes Raw(ReadOnlySpan<byte> value)
        {
            _output.Write(value);
            return this;
        }

        public long Length => _output.Length;

        public byte[] ToArray() => _output.ToArray();
    }
}
