namespace Engine.Diagnostics;

/// <summary>
/// One reading of a running source migration, in the meter's terms: its counts and the gauges of <c>info migrate</c>. The
/// migration makes it from its own statistics (Migration sits above Diagnostics, so the meter does not read them itself).
/// </summary>
internal readonly record struct SourceSample(
    MigrationTotals Totals,
    long DirtyPagesRate,
    double Mbps,
    long RemainingBytes,
    long TotalBytes,
    long? ExpectedDowntimeMs,
    double CompressionRate,
    MigrationOutcome Outcome,
    long TotalTimeMs,
    long? DowntimeMs);
