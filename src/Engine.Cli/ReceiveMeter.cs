using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json.Nodes;
using Engine.Codecs;
using Engine.Diagnostics;

namespace Engine.Cli;

/// <summary>
/// The destination's progress for <c>engine incoming --progress json</c>, read from Engine's own meter (the same instruments
/// dotnet-counters shows): page records by kind and stream bytes received, as a <c>query-migrate</c>-style object.
/// </summary>
/// <remarks>
/// Design: <see cref="Snapshot"/> runs on the progress timer's thread only; it asks the listener to observe the observable
/// instruments, whose callbacks run synchronously on that same thread and fill the fields, so no field is shared.
/// </remarks>
internal sealed class ReceiveMeter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly long _start = Stopwatch.GetTimestamp();
    private long _zero, _normal, _compressed, _bytes;

    public ReceiveMeter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == EngineMetrics.MeterName && instrument.Name is "engine.migration.pages" or "engine.migration.bytes")
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>(OnMeasurement);
        _listener.Start();
    }

    /// <summary>The received counts now, as query-migrate's members (status active).</summary>
    public JsonObject Snapshot()
    {
        _listener.RecordObservableInstruments();
        return ResultJson.Received("active", Stopwatch.GetElapsedTime(_start), _bytes, _zero, _normal, _compressed);
    }

    public void Dispose() => _listener.Dispose();

    private void OnMeasurement(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
    {
        string? direction = null, kind = null;
        foreach (KeyValuePair<string, object?> tag in tags)
        {
            if (tag.Key == EngineMetrics.DirectionAttribute)
            {
                direction = tag.Value as string;
            }
            else if (tag.Key == EngineMetrics.PageKindAttribute)
            {
                kind = tag.Value as string;
            }
        }

        if (direction != "receive")
        {
            return;
        }

        if (instrument.Name == "engine.migration.bytes")
        {
            _bytes = value;
            return;
        }

        switch (kind)
        {
            case "zero":
                _zero = value;
                break;
            case "normal":
                _normal = value;
                break;
            case "compressed":
                _compressed = value;
                break;
        }
    }
}
