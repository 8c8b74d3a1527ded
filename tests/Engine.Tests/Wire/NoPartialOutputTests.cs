using Engine.Codecs;
using Engine.Migration;
using Engine.Tests.Wire.Support;
using Engine.Tools;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>
/// A failed extract or transcode leaves nothing behind: no partial block images (they are staged and moved into place
/// on success) and no partial output file (written as OUT.tmp and renamed on success). Regression tests for the partial
/// output that <c>engine extract</c> and <c>engine transcode</c> used to leave.
/// </summary>
public sealed class NoPartialOutputTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "engine-wire-partial-" + Guid.NewGuid().ToString("N"));

    public NoPartialOutputTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void Extract_that_fails_on_a_corrupt_page_after_good_ones_leaves_no_images()
    {
        (byte[] stream, int corruptAt) = GoodPagesThenACorruptOne();
        string output = Path.Combine(_root, "images");

        MigrationStreamException error = Assert.Throws<MigrationStreamException>(
            () => RamExtractor.Extract(new MemoryStream(stream), output, new RamExtractOptions { Parameters = new MigrationParameters { DecompressThreads = 2 } }));

        Assert.Equal(corruptAt, error.Offset);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void Extract_that_fails_leaves_an_existing_directory_untouched()
    {
        (byte[] stream, _) = GoodPagesThenACorruptOne();
        string output = Path.Combine(_root, "images");
        Directory.CreateDirectory(output);
        File.WriteAllText(Path.Combine(output, "pc.ram.raw"), "an earlier image");

        Assert.Throws<MigrationStreamException>(() => RamExtractor.Extract(new MemoryStream(stream), output));

        Assert.Equal(new[] { "pc.ram.raw" }, Directory.GetFileSystemEntries(output).Select(Path.GetFileName));
        Assert.Equal("an earlier image", File.ReadAllText(Path.Combine(output, "pc.ram.raw")));
    }

    [Fact]
    public void Extract_that_succeeds_leaves_only_the_images()
    {
        string output = Path.Combine(_root, "images");

        RamExtractResult result = RamExtractor.Extract(new MemoryStream(StreamBuilder.SmallStream()), output);

        Assert.Equal(
            new[] { "pc.ram.raw", "rom@etc_acpi_tables.raw" },
            Directory.GetFileSystemEntries(output).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.All(result.Blocks, b => Assert.Equal(output, Path.GetDirectoryName(b.Path)));
        Assert.Equal(StreamBuilder.Load(StreamBuilder.SmallStream()).Memory[0], File.ReadAllBytes(result.Blocks[0].Path));
    }

    [Fact]
    public void Transcode_that_fails_leaves_no_output_and_no_temporary_file()
    {
        (byte[] stream, int corruptAt) = GoodPagesThenACorruptOne();
        string input = Path.Combine(_root, "in.bin");
        File.WriteAllBytes(input, stream);
        string output = Path.Combine(_root, "out.bin");

        MigrationStreamException error = Assert.Throws<MigrationStreamException>(() => Transcoder.Transcode(input, output, Options()));

        Assert.Equal(corruptAt, error.Offset);
        Assert.Equal(new[] { "in.bin" }, Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
    }

    [Fact]
    public void Transcode_that_fails_keeps_an_earlier_output()
    {
        (byte[] stream, _) = GoodPagesThenACorruptOne();
        string input = Path.Combine(_root, "in.bin");
        File.WriteAllBytes(input, stream);
        string output = Path.Combine(_root, "out.bin");
        byte[] earlier = StreamBuilder.SmallStream();
        File.WriteAllBytes(output, earlier);

        Assert.Throws<MigrationStreamException>(() => Transcoder.Transcode(input, output, Options()));

        Assert.Equal(earlier, File.ReadAllBytes(output));
        Assert.False(File.Exists(output + ".tmp"));
    }

    [Fact]
    public void Transcode_that_succeeds_replaces_an_earlier_output_and_leaves_no_temporary_file()
    {
        string input = Path.Combine(_root, "in.bin");
        File.WriteAllBytes(input, StreamBuilder.SmallStream());
        string output = Path.Combine(_root, "out.bin");
        File.WriteAllText(output, "an earlier output");

        TranscodeResult result = Transcoder.Transcode(input, output, Options());

        Assert.Equal(result.BytesWritten, new FileInfo(output).Length);
        Assert.Equal(StreamBuilder.Load(StreamBuilder.SmallStream()).Memory, StreamBuilder.Load(File.ReadAllBytes(output)).Memory);
        Assert.False(File.Exists(output + ".tmp"));
    }

    private static TranscodeOptions Options() => new() { Parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2 } };

    /// <summary>Two good pages (so images exist by the time it fails), then a zlib page whose Adler-32 is broken.</summary>
    private static (byte[] Stream, int CorruptAt) GoodPagesThenACorruptOne()
    {
        byte[] zlib = TestCodecs.CompressPage(CompressMethod.Zlib, 1, StreamBuilder.TextPage(1));
        zlib[^1] ^= 0xFF;
        var s = RawStream.UpToFirstPart()
            .PageHeader(0x0000, RamSaveFlags.Page).Bytes(StreamBuilder.RandomPage(2))
            .PageHeader(0x1000, RamSaveFlags.Page | RamSaveFlags.Continue, block: null).Bytes(StreamBuilder.TextPage(3))
            .PageHeader(0x2000, RamSaveFlags.CompressPage | RamSaveFlags.Continue, block: null).Be32((uint)zlib.Length);
        int at = s.Offset;
        return (s.Bytes(zlib).Finish().ToArray(), at);
    }
}
