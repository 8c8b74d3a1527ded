using System.Text.Json.Nodes;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class MigrationStatisticsTests
{
    [Fact]
    public void CountersAddUpAsQemuCountsThem()
    {
        var s = new MigrationStatistics();
        s.Start(nowMs: 0, totalBytes: 100 * 4096, downtimeLimitMs: 300);
        s.AddOverhead(50);
        s.AddZeroPage(9);
        s.AddNormalPage(8 + 4096);
        s.AddCompressedPage(recordBytes: 8 + 4 + 1000, payloadBytes: 1000);
        s.AddCompressedPage(8 + 4 + 2000, 2000);
        s.AddBusy();

        MigrationInfo i = s.Snapshot(10);
        Assert.Equal(50 + 9 + 4104 + 1012 + 2012, i.TransferredBytes);
        Assert.Equal(1, i.DuplicatePages);
        Assert.Equal(1, i.NormalPages);
        Assert.Equal(4096, i.NormalBytes);
        Assert.Equal(2, i.CompressedPages);
        Assert.Equal(3008, i.CompressedSizeBytes); // payloads + 4-byte lengths = QEMU's record bytes - 8
        Assert.Equal(1, i.CompressionBusy);
        Assert.Equal(4, s.TargetPageCount);
        Assert.Equal(MigrationStatus.Setup, i.Status);
        Assert.Equal(300, i.ExpectedDowntimeMs);
    }

    [Fact]
    public void CountersWindowGivesBandwidthThresholdAndMbps()
    {
        var s = new MigrationStatistics();
        s.Start(0, 1000 * 4096, downtimeLimitMs: 300);
        s.SetupDone(5);
        for (int p = 0; p < 100; p++)
        {
            s.AddNormalPage(5000); // 500 000 bytes
        }

        Assert.False(s.UpdateCounters(99));
        Assert.True(s.UpdateCounters(100));
        Assert.Equal(5000.0, s.BandwidthBytesPerMs);     // 500 000 B / 100 ms
        Assert.Equal(5000L * 300, s.ThresholdBytes);     // bandwidth x downtime-limit
        MigrationInfo i = s.Snapshot(100);
        Assert.Equal(40.0, i.Mbps, 6);                   // 500 000 x 8 / 0.1 s / 1e6
        Assert.Equal(1000, i.PagesPerSecond);
        Assert.Equal(300, i.ExpectedDowntimeMs);          // no dirty rate yet: still the limit
    }

    [Fact]
    public void RatePeriodGivesDirtyRateCompressionRateAndBusyRate()
    {
        var s = new MigrationStatistics();
        s.Start(0, 1000 * 4096, 300);
        s.AddCompressedPage(1000, 1020);
        s.AddCompressedPage(1000, 1020);  // 2 pages in 2 x 1024 compressed bytes
        s.AddNormalPage(4104);
        s.AddBusy();

        Assert.Null(s.BitmapSynced(999, newlyDirtyPages: 300));
        (long sent, long dirtied)? period = s.BitmapSynced(2000, newlyDirtyPages: 100);
        Assert.NotNull(period);
        Assert.Equal(400L * 4096, period.Value.dirtied);
        Assert.Equal(6104, period.Value.sent);
        MigrationInfo i = s.Snapshot(2000);
        Assert.Equal(200, i.DirtyPagesRate);          // 400 pages x 1000 / 2000 ms
        Assert.Equal(4.0, i.CompressionRate, 6);       // 2 x 4096 / 2048
        Assert.Equal(1.0 / 3, i.CompressionBusyRate, 6); // 1 busy / 3 pages handled
        Assert.Equal(2, i.DirtySyncCount);
    }

    [Fact]
    public void ExpectedDowntimeFollowsRemainingOverBandwidthOnceTheGuestDirties()
    {
        var s = new MigrationStatistics();
        s.Start(0, 1000 * 4096, 300);
        s.BitmapSynced(1000, 500);                       // a dirty rate
        s.SetRemaining(1_000_000);
        s.AddOverhead(200_000);
        Assert.True(s.UpdateCounters(1000));             // 200 B/ms over the 1000 ms window
        Assert.Equal(5000, s.Snapshot(1000).ExpectedDowntimeMs);
    }

    [Fact]
    public void CompletionSetsDowntimeTotalTimeAndWholeRunThroughput()
    {
        var s = new MigrationStatistics();
        s.Start(1000, 4096 * 10, 300);
        s.SetupDone(1010);
        s.AddOverhead(1_000_000);
        s.GuestPaused(1900);
        s.Complete(2010);

        MigrationInfo i = s.Snapshot(5000);
        Assert.Equal(MigrationStatus.Completed, i.Status);
        Assert.Equal(1010, i.TotalTimeMs);
        Assert.Equal(110, i.DowntimeMs);
        Assert.Equal(10, i.SetupTimeMs);
        Assert.Null(i.ExpectedDowntimeMs);
        Assert.Equal(0, i.RemainingBytes);
        Assert.Equal(1_000_000 * 8.0 / 1000 / 1000, i.Mbps, 6); // bytes x 8 / (total - setup) ms / 1000
    }

    [Fact]
    public void TextLooksLikeInfoMigrate()
    {
        var s = new MigrationStatistics();
        s.Start(0, 512L << 20, 300);
        s.SetupDone(3);
        s.AddCompressedPage(1012, 1000);
        s.SetThrottle(30);
        s.Complete(100);
        string text = s.Snapshot(100).ToText();

        Assert.StartsWith("Migration status: completed\ntotal time: 100 ms\ndowntime: 0 ms\nsetup: 3 ms\n", text);
        Assert.Contains("total ram: 524288 kbytes\n", text);
        Assert.Contains("compression pages: 1 pages\n", text);
        Assert.Contains("compressed size: 0 kbytes\n", text);
        Assert.Contains("compression rate: 4.08\n", text); // 4096 / 1004
        Assert.Contains("cpu throttle percentage: 30\n", text);
    }

    [Fact]
    public void JsonLooksLikeQueryMigrate()
    {
        var s = new MigrationStatistics();
        s.Start(0, 4096 * 4, 300);
        s.AddZeroPage(9);
        s.Fail(50, "connection reset by peer");
        JsonObject json = JsonNode.Parse(s.Snapshot(60).ToJson())!.AsObject();

        Assert.Equal("failed", (string?)json["status"]);
        Assert.Equal(50, (long?)json["total-time"]);
        Assert.Equal("connection reset by peer", (string?)json["error-desc"]);
        Assert.Equal(1, (long?)json["ram"]!["duplicate"]);
        Assert.Equal(16384, (long?)json["ram"]!["total"]);
        Assert.NotNull(json["compression"]!["compression-rate"]);
    }
}
