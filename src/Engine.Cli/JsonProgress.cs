using System.Text.Json.Nodes;

namespace Engine.Cli;

/// <summary>
/// <c>--progress json</c>: one <c>query-migrate</c>-style JSON object per line on stdout, once a second while a migration runs,
/// then the final object on a line of its own (JSON Lines: a tool reads stdout line by line).
/// </summary>
/// <remarks>
/// Design: a <see cref="Timer"/> callback snapshots the statistics (safe from any thread) and writes a line; writes are
/// serialized by <c>_lock</c>, and <see cref="Finish"/> stops the timer and waits for a running callback before it writes
/// the final line, so the final object is always the last line.
/// </remarks>
internal sealed class JsonProgress : IDisposable
{
    private readonly Lock _lock = new();
    private readonly Func<JsonObject> _snapshot;
    private readonly TextWriter _output;
    private readonly Timer _timer;
    private bool _stopped;

    private JsonProgress(Func<JsonObject> snapshot, TextWriter output, TimeSpan period)
    {
        _snapshot = snapshot;
        _output = output;
        _timer = new Timer(_ => Tick(), null, period, period);
    }

    /// <summary>Starts reporting <paramref name="snapshot"/> every <paramref name="period"/> (1 s) when <paramref name="enabled"/>; otherwise null.</summary>
    public static JsonProgress? StartIf(bool enabled, Func<JsonObject> snapshot, TimeSpan? period = null)
        => enabled ? new JsonProgress(snapshot, Console.Out, period ?? TimeSpan.FromSeconds(1)) : null;

    /// <summary>Stops the periodic lines and writes <paramref name="final"/> as the last one.</summary>
    public void Finish(JsonObject final)
    {
        Stop();
        lock (_lock)
        {
            _output.WriteLine(final.ToJsonString());
            _output.Flush();
        }
    }

    /// <summary>Stops the periodic lines (after a failure, the error goes to stderr as usual).</summary>
    public void Dispose() => Stop();

    private void Stop()
    {
        using (var done = new ManualResetEvent(false))
        {
            // Waits for a callback that is running, so no periodic line follows the final one.
            if (_timer.Dispose(done))
            {
                done.WaitOne();
            }
        }

        lock (_lock)
        {
            _stopped = true;
        }
    }

    private void Tick()
    {
        JsonObject line = _snapshot();
        lock (_lock)
        {
            if (!_stopped)
            {
                _output.WriteLine(line.ToJsonString());
                _output.Flush();
            }
        }
    }
}
