namespace Engine.Diagnostics;

/// <summary>A running destination as the metrics see it: its page and byte counts, published by the reading thread.</summary>
/// <remarks>
/// Design: the destination's reading thread counts pages in locals, as before, and publishes them here at every end of
/// section (at most every 50 ms of the source's sending) and at the end, with release stores; the metrics callbacks read
/// them with acquire loads from the listener's thread. Each count only grows, so a reader that sees one count newer than
/// another still sees every counter move forward. Nothing is added per page.
/// </remarks>
internal sealed class DestinationTracker : IDisposable
{
    private long _zero;
    private long _normal;
    private long _compressed;
    private long _bytes;
    private int _outcome = (int)MigrationOutcome.Failed;
    private readonly long _startTimestamp = System.Diagnostics.Stopwatch.GetTimestamp();
    private int _disposed;

    /// <summary>The counts published so far.</summary>
    public MigrationTotals Totals => new(Volatile.Read(ref _zero), Volatile.Read(ref _normal), Volatile.Read(ref _compressed), Volatile.Read(ref _bytes));

    /// <summary>Publishes the counts so far (the reading thread only).</summary>
    public void Publish(long zero, long normal, long compressed, long bytes)
    {
        // Release stores: plain on x64 and arm64's stlr; paired with the acquire loads in Totals.
        Volatile.Write(ref _zero, zero);
        Volatile.Write(ref _normal, normal);
        Volatile.Write(ref _compressed, compressed);
        Volatile.Write(ref _bytes, bytes);
    }

    /// <summary>How the migration ended; failed unless set.</summary>
    public void SetOutcome(MigrationOutcome outcome) => Volatile.Write(ref _outcome, (int)outcome);

    /// <summary>The destination has ended: its counts go into the process totals and its duration is recorded.</summary>
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            long elapsedMs = (long)System.Diagnostics.Stopwatch.GetElapsedTime(_startTimestamp).TotalMilliseconds;
            EngineMetrics.Retire(this, (MigrationOutcome)Volatile.Read(ref _outcome), elapsedMs);
        }
    }
}
