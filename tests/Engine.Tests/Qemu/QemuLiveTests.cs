using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;
using Xunit.Sdk;

namespace Engine.Tests.Qemu;

/// <summary>
/// Engine as a live peer of real QEMU 7.2 (issue 11): tests/interop/run-live.sh boots one guest and runs twelve checks
/// against it through the built <c>engine</c> CLI (QEMU into <c>engine incoming</c> for plain, xbzrle and compress zlib,
/// each compared with QEMU's pmemsave; the checkpoint loaded by a fresh QEMU; QEMU, relay, relay, QEMU; a replay; a killed
/// destination, relay and source; postcopy refused; a compress source through a relay pair and stored and restored). The script runs once; each test asserts its check's line.
/// </summary>
[Collection(QemuInteropCollection.Name)]
public sealed partial class QemuLiveTests(QemuInterop qemu, ITestOutputHelper output)
{
    // Under the test target's 10-minute hang timeout; the script's own limit ends it first, with a report.
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(9);
    private static readonly object s_gate = new();
    private static ScriptResult? s_run;

    [SkippableFact]
    public void Live1_plain_Qemu_migration_into_incoming_holds_the_sources_RAM_and_saves_a_checkpoint() => AssertPasses(1);

    [SkippableFact]
    public void Live2_xbzrle_Qemu_migration_into_incoming_holds_the_sources_RAM() => AssertPasses(2);

    [SkippableFact]
    public void Live3_compress_zlib_Qemu_migration_into_incoming_holds_the_sources_RAM() => AssertPasses(3);

    [SkippableFact]
    public void Live4_the_saved_checkpoint_loads_into_a_fresh_Qemu_and_the_guest_ticks_on() => AssertPasses(4);

    [SkippableFact]
    public void Live5_Qemu_to_relay_zstd_to_relay_none_to_Qemu_completes_and_the_destination_ticks_on() => AssertPasses(5);

    [SkippableFact]
    public void Live6_relay_from_the_checkpoint_file_into_a_live_Qemu_runs_the_guest() => AssertPasses(6);

    [SkippableFact]
    public void Live7_a_killed_destination_Qemu_stops_both_relays_within_a_second_naming_it() => AssertPasses(7);

    [SkippableFact]
    public void Live8_a_killed_relay_stops_the_other_within_a_second_and_the_destination_never_runs() => AssertPasses(8);

    [SkippableFact]
    public void Live9_postcopy_is_refused_by_name_and_the_destination_never_runs() => AssertPasses(9);

    [SkippableFact]
    public void Live10_a_killed_source_Qemu_stops_both_relays_within_a_second_naming_it() => AssertPasses(10);

    /// <summary>The compress (zlib x2) source of Live3, paused (QEMU 7.2's compress races on a running guest), through relay A (zstd-1) and relay B (none) into a plain QEMU: RAM equal to the source's pmemsave, the guest ticks on.</summary>
    [SkippableFact]
    public void Live11_compress_Qemu_to_relay_to_relay_to_a_plain_Qemu_holds_the_sources_RAM_and_ticks_on() => AssertPasses(11);

    /// <summary>Live3's migration stored by <c>incoming --save-stream</c> (zstd-1), restored by <c>relay --from file:</c> into a plain QEMU: RAM equal to the paused source's pmemsave, the guest ticks on.</summary>
    [SkippableFact]
    public void Live12_a_compress_sources_checkpoint_restored_by_relay_from_file_holds_the_sources_RAM_and_ticks_on() => AssertPasses(12);

    private void AssertPasses(int number)
    {
        qemu.RequireStreams(); // skips with the reason when QEMU cannot be had
        ScriptResult script = Run();
        output.WriteLine($"run-live.sh: exit {script.ExitCode}, {script.Elapsed.TotalSeconds:F0} s");
        output.WriteLine(script.Log);
        Assert.False(script.TimedOut, $"run-live.sh was killed at its hang timeout after {script.Elapsed.TotalSeconds:F0} s; log ends:\n{script.Tail()}");
        Assert.True(script.Leftovers.Count == 0, "processes run-live.sh started were still running after it (now killed):\n" + string.Join('\n', script.Leftovers));
        Match? line = SummaryLine().Matches(script.Log).LastOrDefault(m => m.Groups["n"].Value == number.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(line is not null, $"run-live.sh printed no line for check {number}; log ends:\n{script.Tail()}");
        Assert.True(line.Groups["status"].Value == "PASS", $"live check {number}: {line.Groups["status"].Value} {line.Groups["detail"].Value}; log ends:\n{script.Tail()}");
    }

    private ScriptResult Run()
    {
        lock (s_gate)
        {
            if (s_run is null)
            {
                string engine = Path.Combine(AppContext.BaseDirectory, "engine.dll");
                if (!File.Exists(engine))
                {
                    throw new XunitException($"the engine CLI is not beside the tests: {engine}");
                }

                s_run = InteropScript.Run(
                    Path.Combine(qemu.Root!, "tests", "interop", "run-live.sh"),
                    Array.Empty<string>(),
                    new Dictionary<string, string>
                    {
                        ["ENGINE"] = $"dotnet {engine}",
                        ["INTEROP_WORK"] = qemu.Work,
                        ["LIVE_TIME_LIMIT"] = ((int)(s_timeout.TotalSeconds - 30)).ToString(System.Globalization.CultureInfo.InvariantCulture),
                    },
                    qemu.Root!,
                    s_timeout);
            }

            return s_run;
        }
    }

    [GeneratedRegex(@"^live check (?<n>\d+): (?<status>PASS|FAIL|SKIPPED)\b(?<detail>.*)$", RegexOptions.Multiline)]
    private static partial Regex SummaryLine();
}
