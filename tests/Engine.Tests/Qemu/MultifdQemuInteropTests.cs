using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Qemu;

/// <summary>
/// A real QEMU 7.2 source migrating live with multifd into <c>engine incoming</c> (tests/interop/multifd-live.sh): every
/// method, 2 and 8 channels, one QEMU for all runs; the RAM Engine received equals QEMU's pmemsave of the stopped source.
/// The zstd x2 run also saves a checkpoint (<c>--save-stream</c>): a single-stream QEMU file that a fresh QEMU 7.2 loads
/// and runs the guest from. Then <c>engine migrate</c> with multifd into a real QEMU 7.2 destination, whose pmemsave equals
/// what Engine sent; and QEMU's multifd migration through <c>engine relay</c> A → relay B into a QEMU destination whose
/// RAM equals the source's and whose guest ticks on.
/// </summary>
[Collection(QemuInteropCollection.Name)]
public sealed class MultifdQemuInteropTests(QemuInterop qemu, ITestOutputHelper output)
{
    /// <summary>
    /// The runs, METHOD:CHANNELS: each method once, both channel counts, zstd (the case) with 2 and its checkpoint
    /// loaded by QEMU; then Engine as the source into a fresh QEMU 7.2 destination (to-qemu), sending the RAM the first run
    /// received; then the source through a relay pair (relay A taking the multifd channels) into a fresh QEMU 7.2; last, the
    /// source killed under a relay pair, which must stop within a second naming it.
    /// </summary>
    private static readonly string[] s_runs = ["zstd:2:checkpoint", "zlib:8", "none:2", "to-qemu:zstd:2", "relay:zstd:2", "relay-kill-src:zstd:2"];

    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(7);

    [SkippableFact]
    public void QemuMultifdSourceIntoEngineAndEngineIntoQemuGiveTheSameRam()
    {
        string work = qemu.RequireStreams();
        string root = FindRepositoryRoot();
        string engine = Path.Combine(AppContext.BaseDirectory, "engine.dll");
        Assert.True(File.Exists(engine), $"the engine CLI is not beside the tests: {engine}");
        ScriptResult script = InteropScript.Run(
            Path.Combine(root, "tests", "interop", "multifd-live.sh"),
            s_runs,
            new Dictionary<string, string> { ["ENGINE"] = $"dotnet {engine}", ["INTEROP_WORK"] = work },
            root,
            s_timeout);
        output.WriteLine($"multifd-live.sh: exit {script.ExitCode}, {script.Elapsed.TotalSeconds:F0} s");
        output.WriteLine(script.Log);
        Assert.False(script.TimedOut, $"multifd-live.sh was killed at its hang timeout after {script.Elapsed.TotalSeconds:F0} s; log ends:\n{script.Tail()}");
        Assert.True(script.Leftovers.Count == 0, "processes multifd-live.sh started were still running after it (now killed):\n" + string.Join('\n', script.Leftovers));
        foreach (string run in s_runs)
        {
            string[] parts = run.Split(':');
            List<string> labels = parts[0] is "to-qemu" or "relay" or "relay-kill-src" ? [$"{parts[0]} {parts[1]} x{parts[2]}"] : [$"{parts[0]} x{parts[1]}"];
            if (parts is [_, _, "checkpoint"])
            {
                labels.Add($"checkpoint {parts[0]} x{parts[1]}");
            }

            foreach (string label in labels)
            {
                Match line = Regex.Match(script.Log, $"^multifd {label}: (.*)$", RegexOptions.Multiline);
                Assert.True(line.Success, $"multifd-live.sh printed no line for {label}; log ends:\n{script.Tail()}");
                Assert.StartsWith("PASS", line.Groups[1].Value);
            }
        }

        Assert.Equal(0, script.ExitCode);
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")) && File.Exists(Path.Combine(dir.FullName, "tests", "interop", "multifd-live.sh")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"tests/interop/multifd-live.sh is not above {AppContext.BaseDirectory}");
    }
}
