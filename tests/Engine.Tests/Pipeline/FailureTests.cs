using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>The first failure in any worker stops everything: threads joined, buffers freed, the error and its page reach the caller.</summary>
public sealed class FailureTests : EngineTestBase
{
    [Fact]
    public void ACompressorFailingMidRunEndsEverythingWithItsPage()
    {
        Hang.Guard(60, () =>
        {
            var plan = new ChaosPlan { FailAtCall = 300, MaxSpin = 500 };
            using var harness = new MigrationHarness(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 4 },
                new DecompressionEngineOptions { Method = CompressMethod.Zstd },
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zstd, 1)), plan));
            RamBlock block = harness.AddBlock("pc.ram", 4 << 20);
            harness.WriteAll(0);

            PageException e = Assert.Throws<PageException>(() =>
            {
                harness.SendAll();
                harness.EndSection();
            });

            // The page the codec was compressing when it failed (the test stamps each page's offset into its first bytes).
            Assert.Equal("pc.ram", e.BlockName);
            Assert.Equal(plan.FailedPageTag, e.Offset);
            Assert.Contains("injected compressor failure", e.Message);
            Assert.IsType<InvalidOperationException>(e.InnerException);
            Assert.Null(e.Status);

            CompressionEngine engine = harness.Compressor;
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
            Assert.Equal(0, engine.NativeBytes);

            // It stays stopped, with the same error.
            Assert.Same(e, Assert.Throws<PageException>(() => engine.TrySubmit(block, 0)));
            Assert.Same(e, Assert.Throws<PageException>(() => engine.Receive()));
        });
    }

    [Fact]
    public void AFailureReachesACallerThatIsWaitingForAnotherPage()
    {
        Hang.Guard(30, () =>
        {
            // Page 0 takes a second on worker 0; page 1 fails at once on worker 1. The caller waits for page 0 (results
            // come in order) and must be woken by the failure, not by page 0.
            using var block = new RamBlock("pc.ram", 2 * PageSizes.PageSize);
            PagePool.Write(block.GetPage(0), PageKind.Sparse, 0, 0);
            PagePool.Write(block.GetPage(4096), PageKind.Sparse, 0, 4096);
            using var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2 },
                () => new SlowOrFailingCompressor());
            Assert.True(engine.TrySubmit(block, 0));
            Assert.True(engine.TrySubmit(block, 4096));
            PageException e = Assert.Throws<PageException>(() => engine.Receive());
            Assert.Equal(4096, e.Offset);
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
        });
    }

    [Fact]
    public void ACompressorBreakingItsContractStopsTheEngine()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", PageSizes.PageSize);
            block.GetPage(0).Fill(1);
            using var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zlib, 1), CompressThreads = 1 },
                () => new LyingCompressor());
            Assert.True(engine.TrySubmit(block, 0));
            PageException e = Assert.Throws<PageException>(() => engine.Receive());
            Assert.Contains("DestinationTooSmall", e.Message);
            Assert.Equal(0, e.Offset);
        });
    }

    [Fact]
    public void ADecompressorFailingMidRunEndsEverythingWithItsPageAndStatus()
    {
        Hang.Guard(60, () =>
        {
            var plan = new ChaosPlan { FailAtCall = 200, FailWithStatus = true };
            using var harness = new MigrationHarness(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zlib, 1), CompressThreads = 2 },
                new DecompressionEngineOptions { Method = CompressMethod.Zlib, DecompressThreads = 3 },
                decompressorFactory: ChaosDecompressor.Factory(() => PageCodecs.CreateDecoder(CompressMethod.Zlib, strict: false), plan));
            RamBlock block = harness.AddBlock("pc.ram", 4 << 20);
            harness.WriteAll(0);
            PageException e = Assert.Throws<PageException>(() =>
            {
                harness.SendAll();
                harness.EndSection();
            });
            Assert.Equal(DecompressStatus.Corrupt, e.Status);
            Assert.Equal("pc.ram", e.BlockName);
            Assert.True(block.IsPageOffset(e.Offset));
            Assert.Contains("0x", e.Message);
            Assert.Equal(0, WorkerThreads.LiveCountOf(harness.Decompressor));
            Assert.Equal(0, harness.Decompressor.NativeBytes);
            Assert.Same(e, Assert.Throws<PageException>(() => harness.Decompressor.WaitForDone()));
        });
    }

    [Theory]
    [InlineData(new byte[] { 0x78, 0x9C, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06 }, CompressMethod.Zlib, DecompressStatus.Corrupt)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00, 0x00 }, CompressMethod.Zstd, DecompressStatus.Corrupt)]
    [InlineData(new byte[] { 0x00, 0x11, 0x22 }, CompressMethod.Zlib, DecompressStatus.UnknownFormat)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00, 0x00 }, CompressMethod.Zlib, DecompressStatus.WrongMethod)]
    public void ABadPayloadFailsWaitForDoneNamingBlockOffsetAndStatus(byte[] payload, CompressMethod method, DecompressStatus expected)
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("vga.vram", 8 * PageSizes.PageSize);
            using var engine = new DecompressionEngine(new DecompressionEngineOptions { Method = method, Strict = true });
            engine.SubmitCompressed(block, 0x3000, payload);
            PageException e = Assert.Throws<PageException>(() => engine.WaitForDone());
            Assert.Equal("vga.vram", e.BlockName);
            Assert.Equal(0x3000, e.Offset);
            Assert.Equal(expected, e.Status);
            Assert.Contains("0x3000", e.Message);
            Assert.Contains("'vga.vram'", e.Message);
            Assert.Equal(0, engine.NativeBytes);
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
        });
    }

    [Fact]
    public void EmptyAndOversizedPayloadsAreRefusedAtTheDoor()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", 4 * PageSizes.PageSize);
            using var engine = new DecompressionEngine(new DecompressionEngineOptions { Method = CompressMethod.Zstd });
            Assert.Equal(DecompressStatus.Empty, Assert.Throws<PageException>(() => engine.SubmitCompressed(block, 0, ReadOnlySpan<byte>.Empty)).Status);
            Assert.Equal(DecompressStatus.TooLong, Assert.Throws<PageException>(
                () => engine.SubmitCompressed(block, 4096, new byte[PageSizes.MaxCompressedPage + 1])).Status);
            Assert.Throws<ArgumentOutOfRangeException>(() => engine.SubmitZero(block, 4 * PageSizes.PageSize));
            Assert.Throws<ArgumentOutOfRangeException>(() => engine.SubmitZero(block, 100));
            Assert.Throws<ArgumentException>(() => engine.SubmitRaw(block, 0, new byte[100]));

            // The engine itself is fine: those were the caller's mistakes.
            engine.SubmitRaw(block, 0, Enumerable.Repeat((byte)7, PageSizes.PageSize).ToArray());
            engine.WaitForDone();
            Assert.Equal(7, block.GetPage(0)[4095]);
        });
    }

    [Fact]
    public void AFactoryFailingHalfwayLeavesNoThreadAndNoCodec()
    {
        int created = 0;
        int disposed = 0;
        InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => new CompressionEngine(
            new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 6 },
            () => ++created == 4 ? throw new InvalidOperationException("no more codecs") : new CountingCompressor(() => disposed++)));
        Assert.Equal("no more codecs", e.Message);
        Assert.Equal(3, disposed);
        Assert.Equal(0, WorkerThreads.LiveCount);

        Assert.Throws<ArgumentException>(() => new CompressionEngine(
            new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zlib, 1), CompressThreads = 2 },
            () => new RleCompressor(CompressMethod.Zstd)));
        Assert.Equal(0, WorkerThreads.LiveCount);
    }

    /// <summary>Claims there was not enough room: a contract breach the engine must turn into a stop, not a lost page.</summary>
    private sealed class LyingCompressor : IPageCompressor
    {
        public CompressMethod Method => CompressMethod.Zlib;

        public int Level => 1;

        public int MaxCompressedLength => PageSizes.ZlibBound;

        public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
        {
            written = 0;
            return CompressResult.DestinationTooSmall;
        }

        public void Dispose()
        {
        }
    }

    /// <summary>Page 0 (by tag) is slow; any other page fails.</summary>
    private sealed class SlowOrFailingCompressor : IPageCompressor
    {
        public CompressMethod Method => CompressMethod.Zstd;

        public int Level => 1;

        public int MaxCompressedLength => PageSizes.PageSize;

        public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
        {
            if (ChaosPlan.TagOf(page) != 0)
            {
                throw new InvalidOperationException("injected compressor failure");
            }

            Thread.Sleep(1000);
            written = 0;
            return CompressResult.SendRaw;
        }

        public void Dispose()
        {
        }
    }

    private sealed class CountingCompressor(Action onDispose) : IPageCompressor
    {
        public CompressMethod Method => CompressMethod.Zstd;

        public int Level => 1;

        public int MaxCompressedLength => PageSizes.PageSize;

        public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
        {
            written = 0;
            return CompressResult.SendRaw;
        }

        public void Dispose() => onDispose();
    }
}
