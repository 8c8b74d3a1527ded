using Engine.Codecs;
using Engine.Migration;
using Engine.Tests.Wire.Support;
using Engine.Tools;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>The library entry points behind engine inspect / extract / transcode, on synthetic streams.</summary>
public class TranscodeExtractTests
{
    [Theory]
    [InlineData(CompressMethod.None, 0, 1)]
    [InlineData(CompressMethod.Zlib, 1, 1)]
    [InlineData(CompressMethod.Zlib, 9, 3)]
    [InlineData(CompressMethod.Zstd, 3, 2)]
    public void Transcode_keeps_RAM_and_copies_the_tail(CompressMethod method, int level, int threads)
    {
        byte[] ram = StreamBuilder.SmallStream(withEof: false);
        byte[] tail = new byte[] { 0x04, 0x00, 0x00, 0x00, 0x09 }.Concat(StreamBuilder.RandomPage(5)).ToArray();
        byte[] input = ram.Concat(tail).ToArray();
        var output = new MemoryStream();
        using (var transcoder = new Transcoder(Options(method, level, threads)))
        {
            TranscodeResult result = transcoder.Transcode(new MemoryStream(input), output);
            Assert.Equal(input.Length, result.BytesRead);
            Assert.Equal(output.Length, result.BytesWritten);
            Assert.Equal(tail.Length, result.BytesCopiedAfterRam);
            if (method == CompressMethod.None)
            {
                Assert.Equal(0, result.CompressedPages);
            }
            else
            {
                Assert.True(result.CompressedPages >= 4);
            }
        }

        byte[] transcoded = output.ToArray();
        Assert.Equal(tail, transcoded.AsSpan(transcoded.Length - tail.Length).ToArray());
        Assert.Equal(StreamBuilder.Load(input, stopAfterRamEnd: true).Memory, StreamBuilder.Load(transcoded, stopAfterRamEnd: true).Memory);
        StreamSummary summary = StreamInspector.Inspect(new MemoryStream(transcoded));
        Assert.Equal(method == CompressMethod.Zlib ? summary.Zlib.Count : 0, summary.Zlib.Count);
        Assert.Equal(method == CompressMethod.Zstd ? summary.Zstd.Count : 0, summary.Zstd.Count);
    }

    [Fact]
    public void Transcode_of_a_corrupt_page_names_its_offset()
    {
        byte[] zlib = TestCodecs.CompressPage(CompressMethod.Zlib, 1, StreamBuilder.TextPage(1));
        zlib[^1] ^= 0xFF; // break the Adler-32
        var s = RawStream.UpToFirstPart().PageHeader(0x1000, RamSaveFlags.CompressPage).Be32((uint)zlib.Length);
        int at = s.Offset;
        byte[] input = s.Bytes(zlib).Finish().ToArray();
        using var transcoder = new Transcoder(Options(CompressMethod.Zstd, 1, 2));
        MigrationStreamException error = Assert.Throws<MigrationStreamException>(() => transcoder.Transcode(new MemoryStream(input), new MemoryStream()));
        Assert.Equal(at, error.Offset);
        Assert.Contains("offset 0x1000", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Extract_writes_one_image_per_block()
    {
        string directory = Path.Combine(Path.GetTempPath(), "engine-wire-extract-" + Guid.NewGuid().ToString("N"));
        try
        {
            byte[] stream = StreamBuilder.SmallStream();
            RamExtractResult result = RamExtractor.Extract(new MemoryStream(stream), directory, new RamExtractOptions
            {
                Parameters = new MigrationParameters { DecompressThreads = 3 },
                DecompressorFactory = TestCodecs.Decompressor,
            });
            MemoryRamSink expected = StreamBuilder.Load(stream);
            Assert.Equal(2, result.Blocks.Count);
            Assert.Equal("pc.ram.raw", Path.GetFileName(result.Blocks[0].Path));
            Assert.Equal("rom@etc_acpi_tables.raw", Path.GetFileName(result.Blocks[1].Path));
            for (int i = 0; i < 2; i++)
            {
                Assert.Equal(expected.Memory[i], File.ReadAllBytes(result.Blocks[i].Path));
            }

            Assert.Equal(3, result.Counts.CompressedPages);
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Extract_applies_records_in_stream_order()
    {
        // The same page: raw, then compressed, then zero, then raw again, then an XBZRLE delta; only order gives the right end.
        byte[] a = StreamBuilder.TextPage(1);
        byte[] b = StreamBuilder.TextPage(2);
        byte[] c = StreamBuilder.RandomPage(3);
        byte[] d = (byte[])c.Clone();
        d[100] ^= 0x5A;
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteRamSetupSection(1, new[] { new RamBlockInfo("pc.ram", 8 * 4096) });
            writer.WriteSectionHeader(SectionType.End, 1);
            writer.WriteRawPage(0, 0x3000, a);
            writer.WriteCompressedPage(0, 0x3000, TestCodecs.CompressPage(CompressMethod.Zlib, 1, b));
            writer.WriteZeroPage(0, 0x3000);
            writer.WriteRawPage(0, 0x4000, a);
            writer.WriteCompressedPage(0, 0x4000, TestCodecs.CompressPage(CompressMethod.Zstd, 1, b));
            writer.WriteRawPage(0, 0x5000, c);
            writer.WriteXbzrlePage(0, 0x5000, XbzrleTestEncoder.Encode(c, d));
            writer.EndRamSection();
        }

        string directory = Path.Combine(Path.GetTempPath(), "engine-wire-order-" + Guid.NewGuid().ToString("N"));
        try
        {
            RamExtractResult result = RamExtractor.Extract(new MemoryStream(output.ToArray()), directory, new RamExtractOptions
            {
                Parameters = new MigrationParameters { DecompressThreads = 4 },
                DecompressorFactory = TestCodecs.Decompressor,
            });
            byte[] image = File.ReadAllBytes(result.Blocks[0].Path);
            Assert.True(image.AsSpan(0x3000, 4096).IndexOfAnyExcept((byte)0) < 0);
            Assert.Equal(b, image.AsSpan(0x4000, 4096).ToArray());
            Assert.Equal(d, image.AsSpan(0x5000, 4096).ToArray());
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Inspect_counts_records_and_bytes()
    {
        StreamSummary summary = StreamInspector.Inspect(new MemoryStream(StreamBuilder.SmallStream()));
        Assert.Equal("pc-i440fx-7.2", summary.MachineType);
        Assert.Equal(2, summary.Blocks.Count);
        Assert.Equal(2, summary.Zero.Count);
        Assert.Equal(3, summary.Raw.Count);
        Assert.Equal(2, summary.Zlib.Count);
        Assert.Equal(1, summary.Zstd.Count);
        Assert.Equal(1, summary.ZlibLevelClasses[0]);
        Assert.Equal(1, summary.ZlibLevelClasses[3]);
        Assert.Equal(3, summary.EndOfSection.Count);
        Assert.Equal(1, summary.BytesAfterRam);
        Assert.True(summary.RamComplete);
        var text = new StringWriter();
        summary.WriteText(text);
        Assert.Contains("pc.ram", text.ToString(), StringComparison.Ordinal);
    }

    private static TranscodeOptions Options(CompressMethod method, int level, int threads) => new()
    {
        Parameters = new MigrationParameters { Compression = CompressionSettings.Create(method, level), CompressThreads = threads },
        CompressorFactory = TestCodecs.Compressor,
        DecompressorFactory = TestCodecs.Decompressor,
    };
}
