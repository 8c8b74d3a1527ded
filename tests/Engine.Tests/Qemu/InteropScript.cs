using System.Diagnostics;
using System.Text;

namespace Engine.Tests.Qemu;

/// <summary>
/// Runs one of the tests/interop shell scripts with a hang timeout, and makes sure that nothing it started outlives it.
/// </summary>
/// <remarks>
/// The scripts start QEMU in the background. A QEMU whose script died (timeout, crash) is re-parented to init and no
/// longer shows up in the script's process tree, so every run carries a unique marker in its environment, which every
/// descendant inherits; after the run, any process with that marker is one this run started, and is killed by its PID.
/// Nothing else is ever signalled.
/// </remarks>
internal static class InteropScript
{
    private const string MarkerVariable = "ENGINE_INTEROP_RUN";

    /// <summary>Runs <c>bash SCRIPT ARGS</c> in <paramref name="workingDirectory"/> with <paramref name="environment"/> added.</summary>
    public static ScriptResult Run(
        string script,
        IReadOnlyList<string> arguments,
        IReadOnlyDictionary<string, string> environment,
        string workingDirectory,
        TimeSpan timeout)
    {
        string marker = Guid.NewGuid().ToString("N");
        var info = new ProcessStartInfo("bash")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory,
        };
        info.ArgumentList.Add(script);
        foreach (string argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment)
        {
            info.Environment[name] = value;
        }

        info.Environment[MarkerVariable] = marker;
        info.Environment["NO_COLOR"] = "1";

        var log = new StringBuilder();
        var stopwatch = Stopwatch.StartNew();
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start bash");
        process.StandardInput.Close();
        Task stdout = Pump(process.StandardOutput, log);
        Task stderr = Pump(process.StandardError, log);
        bool exited = process.WaitForExit(timeout);
        if (!exited)
        {
            try
            {
                process.Kill(entireProcessTree: true);
            }
            catch (InvalidOperationException)
            {
                // It exited between the wait and the kill.
            }
        }

        // Whatever is left (a QEMU whose script was killed, or one a script forgot) is stopped here, by PID.
        List<string> leftovers = KillMarked(marker);
        process.WaitForExit(TimeSpan.FromSeconds(10));

        // The pipes close once every holder is gone; bounded anyway, so a stray holder cannot hang the test.
        Task.WaitAll(new[] { stdout, stderr }, TimeSpan.FromSeconds(10));
        stopwatch.Stop();
        string text;
        lock (log)
        {
            text = log.ToString();
        }

        return new ScriptResult(exited ? process.ExitCode : -1, !exited, text, leftovers, stopwatch.Elapsed);
    }

    private static async Task Pump(StreamReader reader, StringBuilder log)
    {
        while (await reader.ReadLineAsync().ConfigureAwait(false) is string line)
        {
            lock (log)
            {
                log.Append(line).Append('\n');
            }
        }
    }

    /// <summary>Kills every process whose environment carries this run's marker; returns them as "PID command".</summary>
    /// <remarks>
    /// Scans until one finds nothing, at least twice, 100 ms apart: a process in the middle of an exec (a forked shell
    /// becoming <c>sleep</c> or QEMU) cannot have its environment read for that moment, and a single scan missed it.
    /// </remarks>
    private static List<string> KillMarked(string marker)
    {
        var killed = new List<string>();
        for (int scan = 0; scan < 10; scan++)
        {
            int found = KillMarkedOnce(marker, killed);
            if (found == 0 && scan >= 1)
            {
                break;
            }

            Thread.Sleep(100);
        }

        return killed;
    }

    private static int KillMarkedOnce(string marker, List<string> killed)
    {
        byte[] needle = Encoding.ASCII.GetBytes($"{MarkerVariable}={marker}\0");
        int found = 0;
        foreach (string dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(dir), out int pid) || pid == Environment.ProcessId)
            {
                continue;
            }

            byte[] environ;
            string command;
            try
            {
                environ = File.ReadAllBytes(Path.Combine(dir, "environ"));
                if (environ.AsSpan().IndexOf(needle) < 0)
                {
                    continue;
                }

                command = File.ReadAllText(Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to read (then it cannot carry our marker either).
                continue;
            }

            found++;
            try
            {
                using Process leftover = Process.GetProcessById(pid);
                leftover.Kill();
                leftover.WaitForExit(TimeSpan.FromSeconds(10));
                killed.Add($"{pid} {command}");
            }
            catch (Exception e) when (e is ArgumentException or InvalidOperationException)
            {
                // Exited before it could be killed.
            }
        }

        return found;
    }
}
