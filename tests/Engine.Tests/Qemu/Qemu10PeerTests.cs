using System.Text.RegularExpressions;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Qemu;

/// <summary>
/// Engine as a peer of QEMU 10.0 (issue 16), per machine type: tests/interop/qemu10-peer.sh boots the test guest once under
/// QEMU 10.0 with that <c>-machine</c>, stops it, and runs each check against the stopped source, judged by the source's
/// own pmemsave: QEMU into <c>engine incoming</c> (plain; multifd zstd or none, 2 channels), QEMU through a relay pair into
/// a fresh QEMU 10.0 (RAM equal, guest runs on), a zstd checkpoint stored by <c>incoming --save-stream</c> and restored
/// by <c>relay --from file:</c> into a fresh QEMU 10.0, a mapped-ram file (<c>migrate file:</c>, without and with
/// multifd) read by <c>engine extract</c>, Engine's mapped-ram file restored by QEMU 10.0, and on pc-q35-10.0 TLS
/// (precopy and multifd into Engine, a relay pair with TLS on every leg, <c>engine migrate --tls-creds</c> into QEMU 10.0,
/// a store over TLS restored over TLS), a multifd-source store, and a multifd QEMU
/// through a relay pair whose last relay writes multifd on (<c>relay-multifd</c>) and the store run's checkpoint restored
/// as multifd with <c>--machine-type</c> (<c>restore-multifd</c>) (<see cref="Qemu10PeerRuns.Plan"/> has which run on
/// which type). One case per machine type and check; each asserts its check's line. Beside them,
/// tests/interop/mapped-ram-check.sh and xbzrle-diff.sh (a running guest's XBZRLE records) run once each on pc-q35-10.0,
/// one case per check.
/// </summary>
/// <remarks>
/// Skipped, with the reason, where QEMU cannot be had (as the QEMU 7.2 tests) or QEMU 10.0 could not be unpacked
/// (tests/interop/qemu10.sh needs root, apt-get and Debian's archive). The scripts run two at a time, on the first case's
/// request (<see cref="Qemu10PeerRuns"/>).
/// </remarks>
[Collection(QemuInteropCollection.Name)]
public sealed partial class Qemu10PeerTests(QemuInterop qemu, Qemu10PeerRuns runs, ITestOutputHelper output) : IClassFixture<Qemu10PeerRuns>
{
    /// <summary>Every (machine type, check) of <see cref="Qemu10PeerRuns.Plan"/>.</summary>
    public static TheoryData<string, string> Checks()
    {
        var data = new TheoryData<string, string>();
        foreach ((string machine, string[] checks) in Qemu10PeerRuns.Plan)
        {
            foreach (string check in checks)
            {
                data.Add(machine, check);
            }
        }

        return data;
    }

    [SkippableTheory]
    [MemberData(nameof(Checks))]
    public void Qemu10_on_its_machine_type_and_Engine_carry_the_same_ram(string machine, string check)
    {
        qemu.RequireStreams(); // skips with the reason when QEMU cannot be had; the guest is built
        Task<ScriptResult> run = runs.For(qemu, machine);
        Assert.True(run.Wait(Qemu10PeerRuns.WaitBound), $"qemu10-peer.sh {machine} did not end within {Qemu10PeerRuns.WaitBound.TotalMinutes} minutes");
        ScriptResult script = run.Result;
        output.WriteLine($"qemu10-peer.sh {machine}: exit {script.ExitCode}, {script.Elapsed.TotalSeconds:F0} s");
        output.WriteLine(script.Log);
        Assert.True(script.Leftovers.Count == 0, $"processes qemu10-peer.sh {machine} started were still running after it (now killed):\n" + string.Join('\n', script.Leftovers));
        Match? line = CheckLine().Matches(script.Log).LastOrDefault(m => m.Groups["machine"].Value == machine && m.Groups["check"].Value == check);
        Assert.True(line is not null, $"qemu10-peer.sh printed no line for {machine} {check}{(script.TimedOut ? " (killed at its bound)" : "")}; log ends:\n{script.Tail()}");
        string status = line.Groups["status"].Value;
        string detail = line.Groups["detail"].Value.Trim();
        Skip.If(status == "SKIPPED", detail);
        Assert.True(status == "PASS", $"QEMU 10.0 -machine {machine}, {check}: {status} {detail}");
    }

    /// <summary>Every check of tests/interop/mapped-ram-check.sh.</summary>
    public static TheoryData<string> MappedRamChecks()
    {
        var data = new TheoryData<string>();
        foreach (string check in Qemu10PeerRuns.MappedRamChecks)
        {
            data.Add(check);
        }

        return data;
    }

    /// <summary>
    /// tests/interop/mapped-ram-check.sh on QEMU 10.0's q35 type: its mapped-ram files (plain, multifd, at an offset as
    /// libvirt writes them) read by <c>engine inspect</c> and <c>extract</c>, loaded by <c>incoming --from file:</c>, and
    /// that checkpoint restored into QEMU 10.0, which runs the guest on.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(MappedRamChecks))]
    public void Qemu10_mapped_ram_files_read_load_and_restore(string check)
    {
        qemu.RequireStreams();
        Task<ScriptResult> run = runs.For(qemu, Qemu10PeerRuns.MappedRamCheckJob);
        Assert.True(run.Wait(Qemu10PeerRuns.WaitBound), $"mapped-ram-check.sh did not end within {Qemu10PeerRuns.WaitBound.TotalMinutes} minutes");
        ScriptResult script = run.Result;
        output.WriteLine($"mapped-ram-check.sh ({Qemu10PeerRuns.MappedRamCheckMachine}): exit {script.ExitCode}, {script.Elapsed.TotalSeconds:F0} s");
        output.WriteLine(script.Log);
        Assert.True(script.Leftovers.Count == 0, "processes mapped-ram-check.sh started were still running after it (now killed):\n" + string.Join('\n', script.Leftovers));
        Match? line = MappedRamLine().Matches(script.Log).LastOrDefault(m => m.Groups["check"].Value == check);
        Assert.True(line is not null, $"mapped-ram-check.sh printed no line for {check}{(script.TimedOut ? " (killed at its bound)" : "")}; log ends:\n{script.Tail()}");
        string status = line.Groups["status"].Value;
        string detail = line.Groups["detail"].Value.Trim();

        // Skipped only where QEMU 10 or python3 cannot be had; its other SKIPPED lines (a guest that did not boot, a
        // check not reached) are failures here.
        Skip.If(status == "SKIPPED" && (detail.StartsWith("(no QEMU 10", StringComparison.Ordinal) || detail.StartsWith("(python3", StringComparison.Ordinal)), detail);
        Assert.True(status == "PASS", $"mapped-ram-check.sh on {Qemu10PeerRuns.MappedRamCheckMachine}, {check}: {status} {detail}");
    }

    /// <summary>Every check of tests/interop/xbzrle-diff.sh.</summary>
    public static TheoryData<string> XbzrleChecks()
    {
        var data = new TheoryData<string>();
        foreach (string check in Qemu10PeerRuns.XbzrleChecks)
        {
            data.Add(check);
        }

        return data;
    }

    /// <summary>
    /// tests/interop/xbzrle-diff.sh under QEMU 10.0 on its q35 type: a running guest migrated with the xbzrle capability,
    /// held in rounds so that the stream carries XBZRLE records, into <c>engine incoming</c> through a tee that keeps the
    /// bytes; those bytes loaded by a fresh QEMU 10.0 are the reference for <c>incoming</c> (live), <c>extract</c> (the
    /// kept file) and <c>relay</c> (<c>relay --from file:</c> passing the records on into another QEMU 10.0): each must
    /// count XBZRLE records and leave 0 pages different from that reference.
    /// </summary>
    [SkippableTheory]
    [MemberData(nameof(XbzrleChecks))]
    public void Qemu10_running_guest_xbzrle_records_decoded_and_passed_on(string check)
    {
        qemu.RequireStreams();
        Task<ScriptResult> run = runs.For(qemu, Qemu10PeerRuns.XbzrleJob);
        Assert.True(run.Wait(Qemu10PeerRuns.WaitBound), $"xbzrle-diff.sh did not end within {Qemu10PeerRuns.WaitBound.TotalMinutes} minutes");
        ScriptResult script = run.Result;
        output.WriteLine($"xbzrle-diff.sh ({Qemu10PeerRuns.XbzrleMachine}): exit {script.ExitCode}, {script.Elapsed.TotalSeconds:F0} s");
        output.WriteLine(script.Log);
        Assert.True(script.Leftovers.Count == 0, "processes xbzrle-diff.sh started were still running after it (now killed):\n" + string.Join('\n', script.Leftovers));
        Match? line = XbzrleLine().Matches(script.Log).LastOrDefault(m => m.Groups["check"].Value == check);
        Assert.True(line is not null, $"xbzrle-diff.sh printed no line for {check}{(script.TimedOut ? " (killed at its bound)" : "")}; log ends:\n{script.Tail()}");
        string status = line.Groups["status"].Value;
        string detail = line.Groups["detail"].Value.Trim();

        // Skipped only where QEMU 10 or python3 cannot be had.
        Skip.If(status == "SKIPPED", detail);
        Assert.True(status == "PASS", $"xbzrle-diff.sh on {Qemu10PeerRuns.XbzrleMachine}, {check}: {status} {detail}");
    }

    [GeneratedRegex(@"^xbzrle-diff check (?<check>\S+): (?<status>PASS|FAIL|SKIPPED)\b(?<detail>.*)$", RegexOptions.Multiline)]
    private static partial Regex XbzrleLine();

    [GeneratedRegex(@"^(?<check>[\w+-]+): (?<status>PASS|FAIL|SKIPPED)\b(?<detail>.*)$", RegexOptions.Multiline)]
    private static partial Regex MappedRamLine();

    [GeneratedRegex(@"^q10 check (?<machine>\S+) (?<check>\S+): (?<status>PASS|FAIL|SKIPPED)\b(?<detail>.*)$", RegexOptions.Multiline)]
    private static partial Regex CheckLine();
}
