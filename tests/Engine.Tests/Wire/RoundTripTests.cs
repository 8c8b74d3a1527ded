using Engine.Codecs;
using Engine.Memory;
using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>Writer to reader: every record kind and method comes back as written, and CONTINUE is the writer's decision.</summary>
public class RoundTripTests
{
    [Fact]
    public void Small_stream_rebuilds_every_page()
    {
        MemoryRamSink sink = StreamBuilder.Load(StreamBuilder.SmallStream());
        byte[] ram = sink.Memory[0];
        byte[] rom = sink.Memory[1];
        Assert.Equal(StreamBuilder.TextPage(1), ram.AsSpan(0, 4096).ToArray());
        Assert.True(ram.AsSpan(0x1000, 4096).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(StreamBuilder.TextPage(2), ram.AsSpan(0x2000, 4096).ToArray());
        Assert.Equal(StreamBuilder.TextPage(3), ram.AsSpan(0x3000, 4096).ToArray());
        Assert.Equal(StreamBuilder.TextPage(5), ram.AsSpan(0x4000, 4096).ToArray());
        Assert.Equal(StreamBuilder.RandomPage(6), ram.AsSpan(0xF000, 4096).ToArray());
        Assert.Equal(StreamBuilder.RandomPage(4), rom.AsSpan(0x1000, 4096).ToArray());
        Assert.Equal(2, sink.Sections - 1);
    }

    [Theory]
    [InlineData(CompressMethod.Zlib, 0)]
    [InlineData(CompressMethod.Zlib, 1)]
    [InlineData(CompressMethod.Zlib, 6)]
    [InlineData(CompressMethod.Zlib, 9)]
    [InlineData(CompressMethod.Zstd, 1)]
    [InlineData(CompressMethod.Zstd, 19)]
    [InlineData(CompressMethod.Zstd, -5)]
    public void Compressed_pages_round_trip(CompressMethod method, int level)
    {
        var blocks = new[] { new RamBlockInfo("pc.ram", 64 * 4096) };
        var expected = new byte[blocks[0].Length];
        var output = new MemoryStream();
        using IPageCompressor compressor = TestCodecs.Compressor(CompressionSettings.Create(method, level));
        var payload = new byte[PageSizes.MaxCompressedPage];
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-i440fx-7.2");
            writer.WriteRamSetupSection(7, blocks);
            writer.WriteSectionHeader(SectionType.End, 7);
            for (int i = 0; i < 64; i++)
            {
                byte[] page = i % 3 == 0 ? StreamBuilder.RandomPage(i) : StreamBuilder.TextPage(i);
                page.CopyTo(expected, i * 4096);
                if (compressor.Compress(page, payload, out int written) == CompressResult.Compressed)
                {
                    writer.WriteCompressedPage(0, i * 4096L, payload.AsSpan(0, written));
                }
                else
                {
                    writer.WriteRawPage(0, i * 4096L, page);
                }
            }

            writer.EndRamSection();
            writer.WriteEof();
        }

        MemoryRamSink sink = StreamBuilder.Load(output.ToArray());
        Assert.Equal(expected, sink.Memory[0]);
    }

    [Fact]
    public void Writer_uses_continue_within_a_section_only()
    {
        using MigrationStreamReader reader = StreamBuilder.Reader(StreamBuilder.SmallStream());
        var continues = new List<bool>();
        while (reader.Read())
        {
            if (reader.Kind is MigrationItemKind.ZeroPage or MigrationItemKind.RawPage or MigrationItemKind.CompressedPage)
            {
                continues.Add(reader.IsContinue);
            }
        }

        // PART: raw@0 (names pc.ram), zero, zlib, zstd (CONTINUE), rom (names), ram again (names); END: ram (names), rom (names).
        Assert.Equal(new[] { false, true, true, true, false, false, false, false }, continues);
    }

    [Fact]
    public void Xbzrle_and_multifd_flush_round_trip()
    {
        byte[] before = StreamBuilder.TextPage(1);
        byte[] after = (byte[])before.Clone();
        after[10] ^= 0xFF;
        after[300] = 7;
        after.AsSpan(1000, 200).Fill(0x33);
        byte[] delta = XbzrleTestEncoder.Encode(before, after);

        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteRamSetupSection(1, new[] { new RamBlockInfo("pc.ram", 4 * 4096) });
            writer.WriteSectionHeader(SectionType.Part, 1);
            writer.WriteRawPage(0, 0x2000, before);
            writer.WriteMultifdFlush();
            writer.WriteXbzrlePage(0, 0x2000, delta);
            writer.EndRamSection();
            writer.WriteSectionHeader(SectionType.End, 1);
            writer.EndRamSection();
            writer.WriteEof();
        }

        MemoryRamSink sink = StreamBuilder.Load(output.ToArray());
        Assert.Equal(after, sink.Memory[0].AsSpan(0x2000, 4096).ToArray());
    }

    [Fact]
    public void Stream_without_configuration_is_read()
    {
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteRamSetupSection(0, new[] { new RamBlockInfo("pc.ram", 4096) });
            writer.WriteSectionHeader(SectionType.End, 0);
            writer.WriteZeroPage(0, 0);
            writer.EndRamSection();
            writer.WriteEof();
        }

        using MigrationStreamReader reader = StreamBuilder.Reader(output.ToArray());
        while (reader.Read())
        {
        }

        Assert.Null(reader.MachineType);
        Assert.True(reader.IsRamComplete);
    }

    [Fact]
    public void Writer_rejects_what_a_reader_would_refuse()
    {
        using var writer = new MigrationStreamWriter(new MemoryStream());
        writer.WriteFileHeader();
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteZeroPage(0, 0)); // no block list yet
        writer.WriteRamSetupSection(1, new[] { new RamBlockInfo("pc.ram", 2 * 4096) });
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteZeroPage(0, 0x2000));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteZeroPage(0, 0x800));
        Assert.Throws<ArgumentOutOfRangeException>(() => writer.WriteZeroPage(1, 0));
        Assert.Throws<ArgumentException>(() => writer.WriteRawPage(0, 0, new byte[100]));
        Assert.Throws<ArgumentException>(() => writer.WriteCompressedPage(0, 0, new byte[] { 1, 2, 3 }));
        Assert.Throws<ArgumentException>(() => writer.WriteCompressedPage(0, 0, ZlibHeaderOf(4111)));
        Assert.Throws<ArgumentException>(() => writer.WriteXbzrlePage(0, 0, new byte[] { 0x00, 0x00 }));
        Assert.Throws<InvalidOperationException>(() => writer.WriteRamBlockList(new[] { new RamBlockInfo("x", 4096) }));
        Assert.Throws<ArgumentException>(() => new MigrationStreamWriter(new MemoryStream()).WriteRamBlockList(new[] { new RamBlockInfo("a", 4096), new RamBlockInfo("a", 4096) }));
        Assert.Throws<ArgumentException>(() => new MigrationStreamWriter(new MemoryStream()).WriteRamBlockList(new[] { new RamBlockInfo("a", 4095) }));
    }

    [Fact]
    public void Writer_position_counts_every_byte()
    {
        var output = new MemoryStream();
        using var writer = new MigrationStreamWriter(output, bufferSize: 16 * 1024, leaveOpen: true);
        writer.WriteFileHeader();
        writer.WriteRamSetupSection(1, new[] { new RamBlockInfo("pc.ram", 64 * 4096) });
        writer.WriteSectionHeader(SectionType.End, 1);
        for (int i = 0; i < 64; i++)
        {
            writer.WriteRawPage(0, i * 4096L, StreamBuilder.TextPage(i));
        }

        writer.EndRamSection();
        writer.Flush();
        Assert.Equal(output.Length, writer.Position);
    }

    private static byte[] ZlibHeaderOf(int length)
    {
        var payload = new byte[length];
        payload[0] = 0x78;
        payload[1] = 0x01;
        return payload;
    }
}
