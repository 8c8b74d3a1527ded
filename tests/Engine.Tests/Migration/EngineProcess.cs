using System.Diagnostics;
using System.Text;

namespace Engine.Tests.Migration;

/// <summary>
/// A running <c>engine</c> command (engine.dll beside the tests) whose output is collected as it comes, so a test can
/// wait for a line (the port an <c>engine incoming</c> listens on), signal the process, and then wait for its exit.
/// Disposing kills it if it is still running, so no child outlives a failed test.
/// </summary>
internal sealed class EngineProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();
    private readonly Lock _gate = new();

    private EngineProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public string StdOut
    {
        get
        {
            lock (_gate)
            {
                return _stdout.ToString();
            }
        }
    }

    public string StdErr
    {
        get
        {
            lock (_gate)
            {
                return _stderr.ToString();
            }
        }
    }

    public static EngineProcess Start(params string[] args)
    {
        // A test host started in the background (as CI may start it) inherits SIGINT ignored, and an ignored signal stays
        // ignored across exec, so the engine would never see Ctrl-C. env --default-signal (coreutils 8.31+) puts the default
        // back before it execs dotnet, as a terminal would have it; env execs in place, so the PID is the engine's.
        var info = new ProcessStartInfo("env")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add("--default-signal=INT");
        info.ArgumentList.Add("dotnet");
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "engine.dll"));
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["NO_COLOR"] = "1";
        var process = new Process { StartInfo = info };
        var engine = new EngineProcess(process);
        process.OutputDataReceived += (_, e) => engine.Append(engine._stdout, e.Data);
        process.ErrorDataReceived += (_, e) => engine.Append(engine._stderr, e.Data);
        process.Start();
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return engine;
    }

    /// <summary>Waits until stderr has a line containing <paramref name="text"/>; returns that line.</summary>
    public string WaitForStdErrLine(string text, TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < timeout)
        {
            string? line = StdErr.Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line.Trim();
            }

            if (_process.HasExited)
            {
                break;
            }

            Thread.Sleep(20);
        }

        throw new TimeoutException($"engine printed no line with '{text}' within {timeout.TotalSeconds} s; exited: {_process.HasExited}; stderr: {StdErr}");
    }

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does.</summary>
    public void Interrupt()
    {
        using Process kill = Process.Start(new ProcessStartInfo("kill", ["-INT", Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run kill");
        kill.WaitForExit();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -INT {Id} failed with {kill.ExitCode}");
        }
    }

    /// <summary>Whether the process ignores SIGINT (inherited from a parent that runs us in the background).</summary>
    public bool IgnoresSigInt()
    {
        // /proc/PID/status: "SigIgn: <hex mask>", bit (signal - 1); SIGINT is 2.
        string? line = File.ReadLines($"/proc/{Id}/status").FirstOrDefault(l => l.StartsWith("SigIgn:", StringComparison.Ordinal));
        return line is not null && (Convert.ToUInt64(line["SigIgn:".Length..].Trim(), 16) & 0x2) != 0;
    }

    /// <summary>Waits for the exit; returns the exit code; throws <see cref="TimeoutException"/> (and kills) after <paramref name="timeout"/>.</summary>
    public int WaitForExit(TimeSpan timeout)
    {
        if (!_process.WaitForExit(timeout))
        {
            _process.Kill(entireProcessTree: true);
            throw new TimeoutException($"engine did not exit within {timeout.TotalSeconds} s; stderr: {StdErr}");
        }

        _process.WaitForExit(); // drains the output events
        return _process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                _process.WaitForExit();
            }
        }
        catch (InvalidOperationException)
        {
            // Never started or already reaped.
        }

        _process.Dispose();
    }

    private void Append(StringBuilder to, string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_gate)
        {
            to.Append(line).Append('\n');
        }
    }
}
