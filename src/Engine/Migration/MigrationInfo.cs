using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// A snapshot of a migration's statistics: the fields of QEMU's <c>query-migrate</c>, rendered as HMP's <c>info migrate</c>
/// text (<see cref="ToText"/>) or as <c>query-migrate</c> JSON (<see cref="ToJson"/>).
/// </summary>
public sealed record MigrationInfo
{
    private static readonly JsonSerializerOptions s_indented = new() { WriteIndented = true };

    /// <summary>The state.</summary>
    public MigrationStatus Status { get; init; }

    /// <summary>Why it failed, when it did.</summary>
    public string? ErrorDescription { get; init; }

    /// <summary><c>total-time</c>: ms since the start (until the end once finished).</summary>
    public long TotalTimeMs { get; init; }

    /// <summary><c>setup-time</c>, ms; null before setup has finished.</summary>
    public long? SetupTimeMs { get; init; }

    /// <summary><c>downtime</c>, ms: from the guest's pause until the destination held everything; only once completed.</summary>
    public long? DowntimeMs { get; init; }

    /// <summary><c>expected-downtime</c>, ms; only while running.</summary>
    public long? ExpectedDowntimeMs { get; init; }

    /// <summary><c>ram.transferred</c>: RAM bytes sent, records and framing.</summary>
    public long TransferredBytes { get; init; }

    /// <summary><c>ram.remaining</c>: dirty bytes still to send.</summary>
    public long RemainingBytes { get; init; }

    /// <summary><c>ram.total</c>: the guest's RAM.</summary>
    public long TotalBytes { get; init; }

    /// <summary><c>ram.duplicate</c>: zero pages sent.</summary>
    public long DuplicatePages { get; init; }

    /// <summary><c>ram.normal</c>: raw pages sent.</summary>
    public long NormalPages { get; init; }

    /// <summary><c>ram.normal-bytes</c>: raw pages × page size.</summary>
    public long NormalBytes => NormalPages * PageSizes.PageSize;

    /// <summary><c>ram.mbps</c>: throughput, Mbit/s.</summary>
    public double Mbps { get; init; }

    /// <summary><c>ram.dirty-pages-rate</c>: pages dirtied per second over the last rate period.</summary>
    public long DirtyPagesRate { get; init; }

    /// <summary><c>ram.dirty-sync-count</c>: dirty-bitmap syncs (the first is the setup's, so rounds = count).</summary>
    public long DirtySyncCount { get; init; }

    /// <summary><c>ram.pages-per-second</c>: pages sent per second over the last window.</summary>
    public long PagesPerSecond { get; init; }

    /// <summary><c>compression.pages</c>: pages sent compressed.</summary>
    public long CompressedPages { get; init; }

    /// <summary><c>compression.busy</c>: pages that found every worker busy and went out raw.</summary>
    public long CompressionBusy { get; init; }

    /// <summary><c>compression.busy-rate</c>: busy / pages handled over the last rate period.</summary>
    public double CompressionBusyRate { get; init; }

    /// <summary><c>compression.compressed-size</c>: bytes of compressed payloads and their 4-byte lengths.</summary>
    public long CompressedSizeBytes { get; init; }

    /// <summary><c>compression.compression-rate</c>: compressed pages × 4096 / compressed size, over the last rate period.</summary>
    public double CompressionRate { get; init; }

    /// <summary><c>cpu-throttle-percentage</c>: the auto-converge throttle (0 = none).</summary>
    public int CpuThrottlePercentage { get; init; }

    /// <summary>The QEMU name of <paramref name="status"/>.</summary>
    public static string StatusName(MigrationStatus status) => status switch
    {
        MigrationStatus.None => "none",
        MigrationStatus.Setup => "setup",
        MigrationStatus.Active => "active",
        MigrationStatus.Device => "device",
        MigrationStatus.Completed => "completed",
        MigrationStatus.Failed => "failed",
        MigrationStatus.Cancelled => "cancelled",
        _ => status.ToString().ToLowerInvariant(),
    };

    /// <summary>The text of HMP's <c>info migrate</c> (QEMU 7.2 layout and units).</summary>
    public string ToText()
    {
        CultureInfo c = CultureInfo.InvariantCulture;
        var s = new StringBuilder();
        s.Append(c, $"Migration status: {StatusName(Status)}");
        s.Append(Status == MigrationStatus.Failed && ErrorDescription is not null ? $" ({ErrorDescription})\n" : "\n");
        s.Append(c, $"total time: {TotalTimeMs} ms\n");
        if (ExpectedDowntimeMs is long expected)
        {
            s.Append(c, $"expected downtime: {expected} ms\n");
        }

        if (DowntimeMs is long downtime)
        {
            s.Append(c, $"downtime: {downtime} ms\n");
        }

        if (SetupTimeMs is long setup)
        {
            s.Append(c, $"setup: {setup} ms\n");
        }

        s.Append(c, $"transferred ram: {TransferredBytes >> 10} kbytes\n");
        s.Append(c, $"throughput: {Mbps:F2} mbps\n");
        s.Append(c, $"remaining ram: {RemainingBytes >> 10} kbytes\n");
        s.Append(c, $"total ram: {TotalBytes >> 10} kbytes\n");
        s.Append(c, $"duplicate: {DuplicatePages} pages\n");
        s.Append(c, $"skipped: 0 pages\n");
        s.Append(c, $"normal: {NormalPages} pages\n");
        s.Append(c, $"normal bytes: {NormalBytes >> 10} kbytes\n");
        s.Append(c, $"dirty sync count: {DirtySyncCount}\n");
        s.Append(c, $"page size: {PageSizes.PageSize >> 10} kbytes\n");
        s.Append(c, $"multifd bytes: 0 kbytes\n");
        s.Append(c, $"pages-per-second: {PagesPerSecond}\n");
        if (DirtyPagesRate != 0)
        {
            s.Append(c, $"dirty pages rate: {DirtyPagesRate} pages\n");
        }

        s.Append(c, $"compression pages: {CompressedPages} pages\n");
        s.Append(c, $"compression busy: {CompressionBusy}\n");
        s.Append(c, $"compression busy rate: {CompressionBusyRate:F2}\n");
        s.Append(c, $"compressed size: {CompressedSizeBytes >> 10} kbytes\n");
        s.Append(c, $"compression rate: {CompressionRate:F2}\n");
        if (CpuThrottlePercentage != 0)
        {
            s.Append(c, $"cpu throttle percentage: {CpuThrottlePercentage}\n");
        }

        return s.ToString();
    }

    /// <summary>The reply of QMP's <c>query-migrate</c> (its <c>return</c> object): QEMU's member names, bytes and ms.</summary>
    public JsonObject ToJsonObject()
    {
        var ram = new JsonObject
        {
            ["transferred"] = TransferredBytes,
            ["remaining"] = RemainingBytes,
            ["total"] = TotalBytes,
            ["duplicate"] = DuplicatePages,
            ["skipped"] = 0,
            ["normal"] = NormalPages,
            ["normal-bytes"] = NormalBytes,
            ["dirty-pages-rate"] = DirtyPagesRate,
            ["mbps"] = Math.Round(Mbps, 6),
            ["dirty-sync-count"] = DirtySyncCount,
            ["postcopy-requests"] = 0,
            ["page-size"] = PageSizes.PageSize,
            ["multifd-bytes"] = 0,
            ["pages-per-second"] = PagesPerSecond,
        };
        var compression = new JsonObject
        {
            ["pages"] = CompressedPages,
            ["busy"] = CompressionBusy,
            ["busy-rate"] = Math.Round(CompressionBusyRate, 6),
            ["compressed-size"] = CompressedSizeBytes,
            ["compression-rate"] = Math.Round(CompressionRate, 6),
        };
        var result = new JsonObject { ["status"] = StatusName(Status) };
        if (Status != MigrationStatus.None)
        {
            result["total-time"] = TotalTimeMs;
        }

        if (ExpectedDowntimeMs is long expected)
        {
            result["expected-downtime"] = expected;
        }

        if (DowntimeMs is long downtime)
        {
            result["downtime"] = downtime;
        }

        if (SetupTimeMs is long setup)
        {
            result["setup-time"] = setup;
        }

        result["ram"] = ram;
        result["compression"] = compression;
        if (CpuThrottlePercentage != 0)
        {
            result["cpu-throttle-percentage"] = CpuThrottlePercentage;
        }

        if (ErrorDescription is not null && Status is MigrationStatus.Failed or MigrationStatus.Cancelled)
        {
            result["error-desc"] = ErrorDescription;
        }

        return result;
    }

    /// <summary><see cref="ToJsonObject"/> as indented JSON text.</summary>
    public string ToJson() => ToJsonObject().ToJsonString(s_indented);
}
