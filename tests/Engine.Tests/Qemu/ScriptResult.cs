namespace Engine.Tests.Qemu;

/// <summary>How one run of an interop script ended.</summary>
/// <param name="ExitCode">The script's exit code; -1 when it was killed for taking too long.</param>
/// <param name="TimedOut">True when the script was killed at its hang timeout.</param>
/// <param name="Log">Its standard output and error, interleaved as they arrived.</param>
/// <param name="Leftovers">Processes the script started that were still alive after it ended ("PID command"); they have been killed.</param>
/// <param name="Elapsed">Wall time of the run.</param>
internal sealed record ScriptResult(int ExitCode, bool TimedOut, string Log, IReadOnlyList<string> Leftovers, TimeSpan Elapsed)
{
    /// <summary>The last <paramref name="lines"/> lines of the log, for failure messages.</summary>
    public string Tail(int lines = 30)
    {
        string[] all = Log.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        return string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }
}
