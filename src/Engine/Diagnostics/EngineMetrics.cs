using System.Diagnostics.Metrics;
using System.Reflection;
using Engine.Pipeline;

namespace Engine.Diagnostics;

/// <summary>
/// Engine's live metrics: one <see cref="System.Diagnostics.Metrics.Meter"/>, <see cref="MeterName"/>, with instruments named
/// in OpenTelemetry's style (<c>engine.migration.pages</c>, unit <c>{page}</c>, attribute <c>engine.page.kind</c>). Read
/// them with <c>dotnet-counters monitor --counters Engine.Migration</c>, an OpenTelemetry <c>MeterProvider</c>
/// (<c>AddMeter("Engine.Migration")</c>) or a <see cref="MeterListener"/>. <c>docs/OBSERVABILITY.md</c> lists every
/// instrument with its unit.
/// </summary>
/// <remarks>
/// <para>
/// Design: nothing is measured twice and nothing is added per page. Almost every instrument is observable: its callback,
/// run only when a listener collects (dotnet-counters: once a second), reads the counters that the migrations and engines
/// keep anyway (the migrations' statistics, read through the <see cref="SourceSample"/> each hands over, the compression engine's <see cref="CompressionStatistics"/>, the
/// destination's page counts, published once per section). Only the two histograms (duration, downtime) are recorded, once
/// per migration.
/// </para>
/// <para>
/// The running migrations and engines are registered here while they run. Counters are process totals: the sum over the
/// running ones plus what the finished ones had counted when they ended, which is added under the same lock that takes them
/// off the list, so a counter never goes backwards and never counts a page twice. Gauges (rates, remaining bytes) are sums
/// over the running ones only.
/// </para>
/// </remarks>
public static class EngineMetrics
{
    /// <summary>The meter's name: <c>Engine.Migration</c>.</summary>
    public const string MeterName = "Engine.Migration";

    /// <summary>The attribute that says which side a migration measurement is from: <c>send</c> (source) or <c>receive</c> (destination).</summary>
    public const string DirectionAttribute = "engine.migration.direction";

    /// <summary>The attribute that says what kind of page record: <c>zero</c>, <c>normal</c> (raw) or <c>compressed</c>.</summary>
    public const string PageKindAttribute = "engine.page.kind";

    /// <summary>The attribute that says how a migration ended: <c>completed</c>, <c>failed</c> or <c>cancelled</c>.</summary>
    public const string StatusAttribute = "engine.migration.status";

    private static readonly Lock s_lock = new();
    private static readonly List<SourceTracker> s_sources = [];
    private static readonly List<DestinationTracker> s_destinations = [];
    private static readonly List<CompressionEngine> s_engines = [];

    // Whether a source or a destination has run in this process: a direction that never ran reports no series at all.
    // Set under s_lock; read outside it with Volatile.Read (a stale false only delays a series by one collection).
    private static bool s_sent;
    private static bool s_received;

    // What finished migrations and engines had counted when they ended (guarded by s_lock).
    private static MigrationTotals s_sourceRetired;
    private static MigrationTotals s_destinationRetired;
    private static CompressionStatistics s_engineRetired;

    private static readonly Meter s_meter = new(MeterName, typeof(EngineMetrics).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion);
    private static readonly Histogram<double> s_duration;
    private static readonly Histogram<double> s_downtime;

    static EngineMetrics()
    {
        s_meter.CreateObservableCounter("engine.migration.pages", ObservePages, "{page}",
            "Page records sent (source) or received (destination), by kind: zero (QEMU duplicate), normal (raw), compressed.");
        s_meter.CreateObservableCounter("engine.migration.bytes", ObserveBytes, "By",
            "Stream bytes of the RAM section sent (QEMU ram.transferred) or received.");
        s_meter.CreateObservableCounter("engine.migration.compression.busy", () => SumSources(t => t.CompressionBusy), "{page}",
            "Pages that found every compress worker busy and went out uncompressed (QEMU compression.busy).");
        s_meter.CreateObservableCounter("engine.migration.compression.compressed_size", () => SumSources(t => t.CompressedSize), "By",
            "Bytes of compressed page payloads and their 4-byte lengths (QEMU compression.compressed-size).");
        s_meter.CreateObservableCounter("engine.migration.iterations", () => SumSources(t => t.DirtySyncs), "{iteration}",
            "Dirty-bitmap syncs, one per pre-copy round (QEMU dirty-sync-count).");
        s_meter.CreateObservableGauge("engine.migration.dirty_rate", () => SumRunningSources(i => i.DirtyPagesRate), "{page}/s",
            "Pages the guest dirtied per second over the last rate period (QEMU dirty-pages-rate); summed over running migrations.");
        s_meter.CreateObservableGauge("engine.migration.throughput", () => SumRunningSources(i => i.Mbps * 1e6), "bit/s",
            "Send throughput over the last 100 ms window (QEMU mbps × 10^6); summed over running migrations.");
        s_meter.CreateObservableUpDownCounter("engine.migration.ram.remaining", () => SumRunningSources(i => i.RemainingBytes), "By",
            "Dirty bytes still to send (QEMU ram.remaining); running migrations.");
        s_meter.CreateObservableUpDownCounter("engine.migration.ram.total", () => SumRunningSources(i => i.TotalBytes), "By",
            "Guest RAM being migrated (QEMU ram.total); running migrations.");
        s_meter.CreateObservableGauge("engine.migration.expected_downtime", () => SumRunningSources(i => (i.ExpectedDowntimeMs ?? 0) / 1000.0), "s",
            "Expected downtime at the last window's bandwidth (QEMU expected-downtime); summed over running migrations.");
        s_meter.CreateObservableGauge("engine.migration.compression.rate", () => SumRunningSources(i => i.CompressionRate), "1",
            "Page bytes per compressed byte over the last rate period (QEMU compression-rate); summed over running migrations.");
        s_meter.CreateObservableUpDownCounter("engine.migration.active", ObserveActive, "{migration}",
            "Migrations running, by direction.");
        s_duration = s_meter.CreateHistogram<double>("engine.migration.duration", "s",
            "Total time of each migration that ended (QEMU total-time), by direction and status.");
        s_downtime = s_meter.CreateHistogram<double>("engine.migration.downtime", "s",
            "Downtime of each completed migration: from the guest's pause until the destination held every page (QEMU downtime).");

        s_meter.CreateObservableCounter("engine.compression.pages", ObserveEnginePages, "{page}",
            "Pages the compression engines handled, by kind: zero, normal (raw: incompressible, method none or busy), compressed.");
        s_meter.CreateObservableCounter("engine.compression.busy", () => SumEngines(s => s.Busy), "{page}",
            "Pages the compression engines handed back uncompressed because every worker was busy.");
        s_meter.CreateObservableCounter("engine.compression.compressed_size", () => SumEngines(s => s.CompressedSize), "By",
            "Bytes of compressed payloads (and their 4-byte lengths) the compression engines produced.");
        s_meter.CreateObservableUpDownCounter("engine.compression.workers", ObserveWorkers, "{thread}",
            "Compress worker threads of the running compression engines.");
    }

    /// <summary>
    /// Registers a running source migration until the returned handle is disposed, which records its duration (and downtime,
    /// when it completed) and keeps its counts in the process totals.
    /// </summary>
    internal static IDisposable TrackSource(Func<SourceSample> sample)
    {
        var tracker = new SourceTracker(sample);
        lock (s_lock)
        {
            s_sources.Add(tracker);
            s_sent = true;
        }

        return tracker;
    }

    /// <summary>Registers a running destination until the returned tracker is disposed.</summary>
    internal static DestinationTracker TrackDestination()
    {
        var tracker = new DestinationTracker();
        lock (s_lock)
        {
            s_destinations.Add(tracker);
            s_received = true;
        }

        return tracker;
    }

    /// <summary>Registers a running compression engine (from its constructor).</summary>
    internal static void Track(CompressionEngine engine)
    {
        lock (s_lock)
        {
            s_engines.Add(engine);
        }
    }

    /// <summary>Takes a compression engine off the list (from its Dispose; idempotent) and keeps its counts in the totals.</summary>
    internal static void Untrack(CompressionEngine engine)
    {
        lock (s_lock)
        {
            if (s_engines.Remove(engine))
            {
                s_engineRetired += engine.Statistics;
            }
        }
    }

    internal static void Retire(SourceTracker tracker, SourceSample final)
    {
        lock (s_lock)
        {
            if (s_sources.Remove(tracker))
            {
                s_sourceRetired = s_sourceRetired.Plus(final.Totals);
            }
        }

        Record(final.Outcome, "send", final.TotalTimeMs, final.Outcome == MigrationOutcome.Completed ? final.DowntimeMs : null);
    }

    internal static void Retire(DestinationTracker tracker, MigrationOutcome outcome, long elapsedMs)
    {
        lock (s_lock)
        {
            if (s_destinations.Remove(tracker))
            {
                s_destinationRetired = s_destinationRetired.Plus(tracker.Totals);
            }
        }

        Record(outcome, "receive", elapsedMs, null);
    }

    private static void Record(MigrationOutcome outcome, string direction, long totalMs, long? downtimeMs)
    {
        string status = outcome switch
        {
            MigrationOutcome.Completed => "completed",
            MigrationOutcome.Cancelled => "cancelled",
            _ => "failed",
        };
        s_duration.Record(totalMs / 1000.0, new KeyValuePair<string, object?>(DirectionAttribute, direction), new KeyValuePair<string, object?>(StatusAttribute, status));
        if (downtimeMs is long downtime)
        {
            s_downtime.Record(downtime / 1000.0);
        }
    }

    private static MigrationTotals SourceTotals()
    {
        lock (s_lock)
        {
            MigrationTotals sum = s_sourceRetired;
            foreach (SourceTracker tracker in s_sources)
            {
                sum = sum.Plus(tracker.Snapshot().Totals);
            }

            return sum;
        }
    }

    private static MigrationTotals DestinationTotals()
    {
        lock (s_lock)
        {
            MigrationTotals sum = s_destinationRetired;
            foreach (DestinationTracker tracker in s_destinations)
            {
                sum = sum.Plus(tracker.Totals);
            }

            return sum;
        }
    }

    private static long SumSources(Func<MigrationTotals, long> field) => field(SourceTotals());

    private static T SumRunningSources<T>(Func<SourceSample, T> field)
        where T : System.Numerics.INumber<T>
    {
        T sum = T.Zero;
        lock (s_lock)
        {
            foreach (SourceTracker tracker in s_sources)
            {
                sum += field(tracker.Snapshot());
            }
        }

        return sum;
    }

    private static IEnumerable<Measurement<long>> ObservePages()
    {
        var measurements = new List<Measurement<long>>(6);
        if (Volatile.Read(ref s_sent))
        {
            MigrationTotals send = SourceTotals();
            measurements.Add(Pages(send.ZeroPages, "send", "zero"));
            measurements.Add(Pages(send.NormalPages, "send", "normal"));
            measurements.Add(Pages(send.CompressedPages, "send", "compressed"));
        }

        if (Volatile.Read(ref s_received))
        {
            MigrationTotals receive = DestinationTotals();
            measurements.Add(Pages(receive.ZeroPages, "receive", "zero"));
            measurements.Add(Pages(receive.NormalPages, "receive", "normal"));
            measurements.Add(Pages(receive.CompressedPages, "receive", "compressed"));
        }

        return measurements;

        static Measurement<long> Pages(long value, string direction, string kind)
            => new(value, new KeyValuePair<string, object?>(DirectionAttribute, direction), new KeyValuePair<string, object?>(PageKindAttribute, kind));
    }

    private static IEnumerable<Measurement<long>> ObserveBytes()
    {
        var measurements = new List<Measurement<long>>(2);
        if (Volatile.Read(ref s_sent))
        {
            measurements.Add(new(SourceTotals().Bytes, new KeyValuePair<string, object?>(DirectionAttribute, "send")));
        }

        if (Volatile.Read(ref s_received))
        {
            measurements.Add(new(DestinationTotals().Bytes, new KeyValuePair<string, object?>(DirectionAttribute, "receive")));
        }

        return measurements;
    }

    private static IEnumerable<Measurement<long>> ObserveActive()
    {
        var measurements = new List<Measurement<long>>(2);
        lock (s_lock)
        {
            if (s_sent)
            {
                measurements.Add(new(s_sources.Count, new KeyValuePair<string, object?>(DirectionAttribute, "send")));
            }

            if (s_received)
            {
                measurements.Add(new(s_destinations.Count, new KeyValuePair<string, object?>(DirectionAttribute, "receive")));
            }
        }

        return measurements;
    }

    private static CompressionStatistics EngineTotals()
    {
        lock (s_lock)
        {
            CompressionStatistics sum = s_engineRetired;
            foreach (CompressionEngine engine in s_engines)
            {
                sum += engine.Statistics;
            }

            return sum;
        }
    }

    private static long SumEngines(Func<CompressionStatistics, long> field) => field(EngineTotals());

    private static IEnumerable<Measurement<long>> ObserveEnginePages()
    {
        CompressionStatistics s = EngineTotals();
        return
        [
            new(s.ZeroPages, new KeyValuePair<string, object?>(PageKindAttribute, "zero")),
            new(s.NormalPages, new KeyValuePair<string, object?>(PageKindAttribute, "normal")),
            new(s.Pages, new KeyValuePair<string, object?>(PageKindAttribute, "compressed")),
        ];
    }

    private static int ObserveWorkers()
    {
        lock (s_lock)
        {
            int threads = 0;
            foreach (CompressionEngine engine in s_engines)
            {
                threads += engine.ThreadCount;
            }

            return threads;
        }
    }
}
