using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Pipeline;
using Engine.Tests.Wire.Support;
using Engine.Threading;
using Engine.Tools;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>
/// A compressor that fails in the middle of a batch of the transcoder's encoder (the <see cref="CompressionEngine"/>):
/// the failure surfaces to the caller naming the stream's page (not the encoder's staging slot), no output file is
/// left, and no worker thread or native buffer outlives the failure.
/// </summary>
public sealed class TranscoderCodecFailureTests : IDisposable
{
    private const int Pages = 128;

    // Page 45 is the 14th page of the second 32-page batch.
    private const int FailingPage = 45;

    private readonly string _root = Path.Combine(Path.GetTempPath(), "engine-transcode-codec-" + Guid.NewGuid().ToString("N"));

    public TranscoderCodecFailureTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact(Timeout = 60_000)]
    public async Task Compressor_failing_mid_batch_surfaces_names_the_page_and_leaves_no_output_file()
    {
        await Task.Yield();
        string input = Path.Combine(_root, "in.bin");
        File.WriteAllBytes(input, PlainStream());
        string output = Path.Combine(_root, "out.bin");

        PageException error = Assert.Throws<PageException>(() => Transcoder.Transcode(input, output, Options()));

        Assert.Equal("pc.ram", error.BlockName);
        Assert.Equal((long)FailingPage * PageSizes.PageSize, error.Offset);
        Assert.Contains("injected compressor failure", error.Message, StringComparison.Ordinal);
        Assert.Equal(new[] { "in.bin" }, Directory.GetFileSystemEntries(_root).Select(Path.GetFileName));
    }

    [Fact(Timeout = 60_000)]
    public async Task Compressor_failing_mid_batch_leaves_no_thread_and_the_transcoder_works_again()
    {
        await Task.Yield();
        using var transcoder = new Transcoder(Options());
        CompressionEngine engine = transcoder.Encoder.Engine;
        Assert.Equal(2, WorkerThreads.LiveCountOf(engine));

        Assert.Throws<PageException>(() => transcoder.Transcode(new MemoryStream(PlainStream()), new MemoryStream()));

        Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
        Assert.Equal(0, engine.NativeBytes);

        // The next stream gets a new engine; one without the failing page transcodes in full, in order.
        byte[] good = PlainStream(skipFailingPage: true);
        var output = new MemoryStream();
        TranscodeResult result = transcoder.Transcode(new MemoryStream(good), output);
        Assert.NotSame(engine, transcoder.Encoder.Engine);
        Assert.Equal(Pages - 1, result.CompressedPages);
        Assert.Equal(StreamBuilder.Load(good).Memory, StreamBuilder.Load(output.ToArray()).Memory);
    }

    private static TranscodeOptions Options() => new()
    {
        Parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2 },
        CompressorFactory = settings => new FailOnPageCompressor(PageCodecs.CreateCompressor(settings)),
    };

    /// <summary>One block of <see cref="Pages"/> plain text pages, page i tagged i in its first byte.</summary>
    private static byte[] PlainStream(bool skipFailingPage = false)
    {
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-i440fx-7.2");
            writer.WriteRamSetupSection(StreamBuilder.RamSectionId, [new RamBlockInfo("pc.ram", Pages * PageSizes.PageSize)]);
            writer.WriteSectionHeader(SectionType.Part, StreamBuilder.RamSectionId);
            for (int i = 0; i < Pages; i++)
            {
                if (skipFailingPage && i == FailingPage)
                {
                    writer.WriteZeroPage(0, (long)i * PageSizes.PageSize);
                    continue;
                }

                writer.WriteRawPage(0, (long)i * PageSizes.PageSize, StreamBuilder.TextPage(i));
            }

            writer.EndRamSection();
            writer.WriteSectionHeader(SectionType.End, StreamBuilder.RamSectionId);
            writer.EndRamSection();
            writer.WriteEof();
        }

        return output.ToArray();
    }

    /// <summary>Compresses as its inner compressor, but throws on the page tagged <see cref="FailingPage"/>.</summary>
    private sealed class FailOnPageCompressor(IPageCompressor inner) : IPageCompressor
    {
        public CompressMethod Method => inner.Method;

        public int Level => inner.Level;

        public int MaxCompressedLength => inner.MaxCompressedLength;

        public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
        {
            if (page[0] == FailingPage)
            {
                throw new InvalidOperationException("injected compressor failure");
            }

            return inner.Compress(page, destination, out written);
        }

        public void Dispose() => inner.Dispose();
    }
}
