namespace Engine.Diagnostics;

/// <summary>A running source migration as the metrics see it: its statistics, read on the listener's thread.</summary>
/// <remarks>
/// Design: the migration thread owns the statistics; the sample it hands over (<c>MigrationStatistics.Snapshot</c>) is safe from any thread (each
/// counter a volatile 64-bit read), so the metrics callbacks read it there and the migration's page loop does nothing extra.
/// </remarks>
internal sealed class SourceTracker(Func<SourceSample> sample) : IDisposable
{
    private int _disposed;

    /// <summary>The migration's statistics now.</summary>
    public SourceSample Snapshot() => sample();

    /// <summary>The migration has ended (completed, failed or cancelled): its final counts go into the process totals.</summary>
    public void Dispose()
    {
        // Once: a second Dispose must not record a second duration.
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            EngineMetrics.Retire(this, Snapshot());
        }
    }
}
