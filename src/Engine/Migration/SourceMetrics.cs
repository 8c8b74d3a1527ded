using Engine.Diagnostics;

namespace Engine.Migration;

/// <summary>A source migration's statistics as the live metrics read them (Diagnostics sits below Migration).</summary>
internal static class SourceMetrics
{
    /// <summary>Registers a running source with <see cref="EngineMetrics"/> until the returned handle is disposed.</summary>
    /// <remarks>Design: the sample is made on the metrics listener's thread; <see cref="MigrationStatistics.Snapshot"/> is safe from any thread.</remarks>
    public static IDisposable Track(MigrationStatistics statistics, Func<long> nowMs)
        => EngineMetrics.TrackSource(() => Sample(statistics.Snapshot(nowMs())));

    /// <summary>One reading in the meter's terms.</summary>
    public static SourceSample Sample(MigrationInfo info) => new(
        new MigrationTotals(
            info.DuplicatePages,
            info.NormalPages,
            info.CompressedPages,
            info.TransferredBytes,
            info.CompressionBusy,
            info.CompressedSizeBytes,
            info.DirtySyncCount),
        info.DirtyPagesRate,
        info.Mbps,
        info.RemainingBytes,
        info.TotalBytes,
        info.ExpectedDowntimeMs,
        info.CompressionRate,
        OutcomeOf(info.Status),
        info.TotalTimeMs,
        info.DowntimeMs);

    /// <summary>The histogram's outcome of a status: completed, cancelled, or failed for every other.</summary>
    public static MigrationOutcome OutcomeOf(MigrationStatus status) => status switch
    {
        MigrationStatus.Completed => MigrationOutcome.Completed,
        MigrationStatus.Cancelled => MigrationOutcome.Cancelled,
        _ => MigrationOutcome.Failed,
    };
}
