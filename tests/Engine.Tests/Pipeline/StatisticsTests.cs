using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>The statistics, as QEMU computes them, exact and readable from another thread without tearing.</summary>
public sealed class StatisticsTests : EngineTestBase
{
    [Fact]
    public void CountsPagesSizesAndRatesAsQemuDoes()
    {
        Hang.Guard(30, () =>
        {
            using var memory = new GuestMemory();
            RamBlock block = memory.AddBlock("pc.ram", 300 * PageSizes.PageSize);
            long expectedZero = 0, expectedPages = 0, expectedNormal = 0, expectedSize = 0;
            var rle = new RleCompressor();
            var buffer = new byte[PageSizes.PageSize];
            for (long page = 0; page < 300; page++)
            {
                PageKind kind = (page % 3) switch { 0 => PageKind.Zero, 1 => PageKind.Sparse, _ => PageKind.Random };
                PagePool.Write(block.GetPage(page * PageSizes.PageSize), kind, (int)page, page);
                if (kind == PageKind.Zero)
                {
                    expectedZero++;
                }
                else if (rle.Compress(block.GetPage(page * PageSizes.PageSize), buffer, out int written) == CompressResult.Compressed)
                {
                    expectedPages++;
                    expectedSize += written + 4;
                }
                else
                {
                    expectedNormal++;
                }
            }

            using var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 3 },
                () => new RleCompressor());
            Assert.Equal(default, engine.Statistics);
            engine.CompressBlock(block, static (in PageResult _) => { });

            CompressionStatistics stats = engine.Statistics;
            Assert.Equal(expectedZero, stats.ZeroPages);
            Assert.Equal(expectedPages, stats.Pages);
            Assert.Equal(expectedNormal, stats.NormalPages);
            Assert.Equal(expectedSize, stats.CompressedSize);
            Assert.Equal(300, stats.TotalPages);
            Assert.Equal(0, stats.Busy);
            Assert.Equal(0, stats.BusyRate);
            Assert.Equal(expectedPages * 4096.0 / expectedSize, stats.CompressionRate);
            Assert.True(expectedPages > 50 && expectedNormal > 50);
        });
    }

    [Fact]
    public void PeriodRatesFollowMigrationUpdateRates()
    {
        var before = new CompressionStatistics { Pages = 10, Busy = 2, CompressedSize = 10_000, ZeroPages = 5, NormalPages = 5 };
        var after = new CompressionStatistics { Pages = 30, Busy = 12, CompressedSize = 30_000, ZeroPages = 25, NormalPages = 45 };
        CompressionRates rates = after.RatesSince(before);
        Assert.Equal(10.0 / 80, rates.BusyRate);
        Assert.Equal(20 * 4096.0 / 20_000, rates.CompressionRate);

        // Nothing compressed in the period: QEMU keeps its previous compression rate.
        Assert.Null(before.RatesSince(before).CompressionRate);
        Assert.Equal(0, before.RatesSince(before).BusyRate);
    }

    [Fact]
    public void AReaderOnAnotherThreadNeverSeesATornSnapshot()
    {
        Hang.Guard(60, () =>
        {
            // Every page compresses to exactly 100 bytes, so in any consistent snapshot CompressedSize == 104 * Pages.
            using GuestMemory memory = DisposeTests.SparseMemory(64);
            RamBlock block = memory.Blocks[0];
            using var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2 },
                () => new FixedSizeCompressor());
            using var stop = new CancellationTokenSource();
            long snapshots = 0;
            string? torn = null;
            var reader = new Thread(() =>
            {
                long lastTotal = 0;
                while (!stop.IsCancellationRequested)
                {
                    CompressionStatistics s = engine.Statistics;
                    if (s.CompressedSize != 104 * s.Pages || s.TotalPages < lastTotal || s.Pages != s.TotalPages)
                    {
                        torn ??= s.ToString();
                    }

                    lastTotal = s.TotalPages;
                    snapshots++;
                }
            })
            { IsBackground = true };
            reader.Start();
            for (int round = 0; round < 800; round++)
            {
                engine.CompressBlock(block, static (in PageResult _) => { });
            }

            stop.Cancel();
            reader.Join();
            Assert.Null(torn);
            Assert.Equal(800 * 64, engine.Statistics.Pages);
            Assert.True(snapshots > 100, $"only {snapshots} snapshots");
        });
    }

    private sealed class FixedSizeCompressor : IPageCompressor
    {
        public CompressMethod Method => CompressMethod.Zstd;

        public int Level => 1;

        public int MaxCompressedLength => PageSizes.PageSize;

        public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
        {
            written = 100;
            return CompressResult.Compressed;
        }

        public void Dispose()
        {
        }
    }
}
