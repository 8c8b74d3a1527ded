using System.Runtime.InteropServices;
using Xunit;

namespace Engine.Tests.Qemu;

/// <summary>
/// The runner of the interop scripts: it bounds every run and leaves nothing running that a script started, even a
/// background process whose script has gone (as a QEMU would be). No QEMU needed.
/// </summary>
public sealed class InteropScriptTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "engine-script-" + Guid.NewGuid().ToString("N"));

    public InteropScriptTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [SkippableFact]
    public void Captures_both_streams_and_the_exit_code()
    {
        Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "the interop scripts run on Linux only");
        string script = Script("echo to-stdout; echo to-stderr >&2; echo \"env: $GREETING\"; exit 3");

        ScriptResult result = InteropScript.Run(script, [], new Dictionary<string, string> { ["GREETING"] = "hello" }, _root, TimeSpan.FromSeconds(30));

        Assert.Equal(3, result.ExitCode);
        Assert.False(result.TimedOut);
        Assert.Contains("to-stdout\n", result.Log, StringComparison.Ordinal);
        Assert.Contains("to-stderr\n", result.Log, StringComparison.Ordinal);
        Assert.Contains("env: hello\n", result.Log, StringComparison.Ordinal);
        Assert.Empty(result.Leftovers);
    }

    [SkippableFact]
    public void A_background_process_left_by_a_finished_script_is_named_and_killed()
    {
        Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "the interop scripts run on Linux only");
        string pidFile = Path.Combine(_root, "pid");

        // Its output goes elsewhere, as a QEMU's does, so only the marker can find it once the script is gone.
        string script = Script($"sleep 300 > /dev/null 2>&1 & echo $! > '{pidFile}'; exit 0");

        ScriptResult result = InteropScript.Run(script, [], new Dictionary<string, string>(), _root, TimeSpan.FromSeconds(30));

        Assert.Equal(0, result.ExitCode);
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        string leftover = Assert.Single(result.Leftovers);
        // The leftover is named by its PID and command line; the forked shell may not have exec'd sleep yet when the
        // script exits (seen under load), so only the PID is certain.
        Assert.StartsWith($"{pid} ", leftover, StringComparison.Ordinal);
        Assert.False(IsRunning(pid), $"the leftover {pid} still runs");
    }

    [SkippableFact]
    public void A_script_past_its_timeout_is_killed_with_everything_it_started()
    {
        Skip.IfNot(RuntimeInformation.IsOSPlatform(OSPlatform.Linux), "the interop scripts run on Linux only");
        string pidFile = Path.Combine(_root, "pid");
        string script = Script($"sleep 300 > /dev/null 2>&1 & echo $! > '{pidFile}'; echo started; sleep 300");

        ScriptResult result = InteropScript.Run(script, [], new Dictionary<string, string>(), _root, TimeSpan.FromSeconds(2));

        Assert.True(result.TimedOut);
        Assert.Equal(-1, result.ExitCode);
        Assert.InRange(result.Elapsed, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30));
        Assert.Contains("started\n", result.Log, StringComparison.Ordinal);
        int pid = int.Parse(File.ReadAllText(pidFile).Trim(), System.Globalization.CultureInfo.InvariantCulture);
        Assert.False(IsRunning(pid), $"the background child {pid} outlived its killed script");
    }

    [Fact]
    public void Summary_lines_parse_by_check_number()
    {
        Dictionary<int, InteropCheck> checks = InteropCheck.Parse(
            "+ engine extract x\ninterop check 1: PASS (3 block images identical)\ninterop check 2: FAIL (load failed)\n"
            + "interop check 3: SKIPPED (no qemu)\nnot a check line: PASS\n");

        Assert.Equal(3, checks.Count);
        Assert.Equal(new InteropCheck(1, "PASS", "(3 block images identical)"), checks[1]);
        Assert.Equal("FAIL", checks[2].Status);
        Assert.Equal("(no qemu)", checks[3].Detail);
    }

    private static bool IsRunning(int pid)
    {
        // Gone, or a zombie waiting for its reaper: either way it no longer runs.
        string stat = Path.Combine("/proc", pid.ToString(System.Globalization.CultureInfo.InvariantCulture), "stat");
        try
        {
            string text = File.ReadAllText(stat);
            return text[(text.LastIndexOf(')') + 2)..].StartsWith('Z') is false;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private string Script(string body)
    {
        string path = Path.Combine(_root, "script.sh");
        File.WriteAllText(path, "#!/bin/bash\n" + body + "\n");
        return path;
    }
}
