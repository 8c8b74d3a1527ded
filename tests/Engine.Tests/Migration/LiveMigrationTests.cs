using Engine.Codecs;
using Engine.Migration;
using Engine.Transport;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class LiveMigrationTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    [Theory(Timeout = 60_000)]
    [InlineData(CompressMethod.None, 0)]
    [InlineData(CompressMethod.Zlib, 1)]
    [InlineData(CompressMethod.Zstd, 1)]
    public async Task SmallGuestUnderWritesArrivesIdentical(CompressMethod method, int level)
    {
        var parameters = new MigrationParameters
        {
            Compression = CompressionSettings.Create(method, level),
            CompressThreads = 2,
            DecompressThreads = 2,
            MaxBandwidth = 64L << 20,
        };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        (MigrationResult source, DestinationResult destination) = await MigrateOverLoopback(guest, parameters);
        using (destination.Memory)
        {
            Assert.True(source.ChecksumsMatch);
            Assert.Equal(MigrationStatus.Completed, source.Info.Status);
            Assert.True(guest.Memory.Blocks[0].GetSpan(0, 8 << 20).SequenceEqual(destination.Memory.Blocks[0].GetSpan(0, 8 << 20)));
            Assert.True(source.Info.DuplicatePages > 0);
            if (method == CompressMethod.None)
            {
                Assert.Equal(0, source.Info.CompressedPages);
            }
            else
            {
                Assert.True(source.Info.CompressedPages > 0);
                Assert.True(source.Info.CompressionRate > 2, $"compression rate {source.Info.CompressionRate}");
            }

            Assert.True(guest.Writers!.IsPaused, "a completed migration leaves the source guest stopped");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task CompressWaitThreadOffSendsBusyPagesUncompressedCountsThemAndArrivesIdentical()
    {
        // One zlib-9 worker is many times slower than the migration thread, which with compress-wait-thread off takes the
        // pages no worker is free for itself (zero or raw) instead of waiting.
        var parameters = new MigrationParameters
        {
            Compression = CompressionSettings.Create(CompressMethod.Zlib, 9),
            CompressThreads = 1,
            CompressWaitThread = false,
            MaxBandwidth = 0,
        };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 2_000 });
        (MigrationResult source, DestinationResult destination) = await MigrateOverLoopback(guest, parameters, TimeSpan.FromMilliseconds(1));
        using (destination.Memory)
        {
            MigrationInfo info = source.Info;
            Assert.True(source.ChecksumsMatch);
            Assert.True(info.CompressionBusy > 0, "no page found the worker busy");
            Assert.True(info.CompressedPages > 0, "the worker compressed nothing");

            // Regression: busy zero pages were not counted as busy. Busy pages go out as zero or raw records; counting only
            // the raw ones kept busy below the raw (normal) pages. Most busy pages here are zero pages (57 % of the guest).
            Assert.True(info.CompressionBusy > info.NormalPages, $"busy {info.CompressionBusy}, normal {info.NormalPages}, zero {info.DuplicatePages}");
            Assert.True(info.CompressionBusy <= info.DuplicatePages + info.NormalPages);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ARateLimitedSourcePaysOffAnOvershootInWholeWindowsNotOnePagePerIteration()
    {
        // Regression: with the overshoot carried into the next windows, the source waited one window and then started an
        // iteration that sent a single page before it found itself over the limit again: a section, a flush and a progress
        // report per page, and 100 ms windows that measured one page of bandwidth.
        var parameters = new MigrationParameters { CompressThreads = 8, MaxBandwidth = 4L << 20 };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(16L << 20);
        var sent = new List<long>();
        (System.Net.Sockets.NetworkStream sourceEnd, System.Net.Sockets.NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            Task<DestinationResult> incoming = Task.Factory.StartNew(() => new DestinationMigration().Run(destinationEnd), TaskCreationOptions.LongRunning);
            var source = new SourceMigration(guest, parameters, new SourceMigrationOptions { Progress = info => sent.Add(info.DuplicatePages + info.NormalPages + info.CompressedPages) });
            MigrationResult result = await Task.Factory.StartNew(() => source.Run(sourceEnd), TaskCreationOptions.LongRunning);
            (await incoming).Memory.Dispose();
            Assert.True(result.ChecksumsMatch);
        }

        // A still guest: every iteration but the last sends about a window's worth (400 KiB of stream, hundreds of pages).
        long[] perIteration = sent.Zip(sent.Skip(1), (a, b) => b - a).SkipLast(1).ToArray();
        Assert.True(perIteration.Length >= 3, $"{perIteration.Length} iterations");
        Assert.True(perIteration.All(p => p >= 32), $"pages per iteration: {string.Join(", ", perIteration)}");
    }

    [Fact(Timeout = 60_000)]
    public async Task AGuestOfSeveralBlocksArrivesIdenticalBlockByBlock()
    {
        var parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2, MaxBandwidth = 32L << 20 };
        (string Name, long Size)[] blocks = [("pc.ram", 6L << 20), ("vga.vram", 1L << 20), ("/rom@etc/acpi/tables", 128L << 10)];
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(blocks, new GuestWriterOptions { Threads = 1, PagesPerSecond = 3_000 });
        Assert.False(guest.Memory.Blocks[0].GetSpan(0, 1 << 20).SequenceEqual(guest.Memory.Blocks[1].GetSpan(0, 1 << 20)), "two blocks hold the same content");
        (MigrationResult source, DestinationResult destination) = await MigrateOverLoopback(guest, parameters);
        using (destination.Memory)
        {
            Assert.True(source.ChecksumsMatch);
            Assert.Equal(blocks.Select(b => b.Name), destination.Memory.Blocks.Select(b => b.Name));
            Assert.Equal(blocks.Select(b => b.Size), destination.Memory.Blocks.Select(b => b.Size));
            Assert.Equal(3, source.SourceChecksums.Count);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task AGuestDirtyingSlowerThanTheLinkConvergesWithoutThrottling()
    {
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0, AutoConverge = true };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 500 });
        (MigrationResult source, DestinationResult destination) = await MigrateOverLoopback(guest, parameters);
        destination.Memory.Dispose();
        Assert.True(source.ChecksumsMatch);
        Assert.Equal(0, source.Info.CpuThrottlePercentage);
    }

    [Fact(Timeout = 90_000)]
    public async Task AGuestDirtyingFasterThanTheLinkConvergesThroughAutoConverge()
    {
        // 20 000 pages/s (80 MB/s) against 2 MiB/s: without throttling the dirty set never fits in the downtime limit.
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 2L << 20, AutoConverge = true, CpuThrottleIncrement = 20 };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 20_000 });
        (MigrationResult source, DestinationResult destination) = await MigrateOverLoopback(guest, parameters, TimeSpan.FromMilliseconds(150));
        destination.Memory.Dispose();
        Assert.True(source.ChecksumsMatch);
        Assert.Equal(MigrationStatus.Completed, source.Info.Status);
        Assert.True(source.Info.CpuThrottlePercentage >= 20, $"throttle {source.Info.CpuThrottlePercentage}%");
        Assert.True(source.Info.DirtySyncCount > 2);
    }

    internal static async Task<(MigrationResult Source, DestinationResult Destination)> MigrateOverLoopback(MigrationGuest guest, MigrationParameters parameters, TimeSpan? ratePeriod = null)
    {
        (System.Net.Sockets.NetworkStream sourceEnd, System.Net.Sockets.NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            var destination = new DestinationMigration(new DestinationOptions { Parameters = parameters, ReadTimeout = IoTimeout });
            Task<DestinationResult> incoming = Task.Factory.StartNew(() => destination.Run(destinationEnd), TaskCreationOptions.LongRunning);
            guest.StartWriters();
            var source = new SourceMigration(guest, parameters, new SourceMigrationOptions { RatePeriod = ratePeriod ?? TimeSpan.FromMilliseconds(200) });
            MigrationResult result = await Task.Factory.StartNew(() => source.Run(sourceEnd), TaskCreationOptions.LongRunning);
            return (result, await incoming);
        }
    }
}
