using System.Globalization;

namespace Engine.Tests.Qemu;

/// <summary>
/// The runs of tests/interop/qemu10-peer.sh behind <see cref="Qemu10PeerTests"/>: one script per machine type (one guest
/// boot each), and tests/interop/mapped-ram-check.sh and xbzrle-diff.sh once each, all started on the first test's
/// request, two at a time, and bounded together.
/// </summary>
/// <remarks>
/// Design: shared by the test cases of <see cref="Qemu10PeerTests"/>, which xunit runs one after another on its own
/// threads, while the scripts run on threads of their own. Everything mutable is behind <see cref="_gate"/>; each machine
/// type's script is one <see cref="Task{TResult}"/>, started once and only read afterwards. Two scripts run at a time:
/// a guest boot under TCG keeps one core busy, and the machine has two. The whole plan shares one deadline
/// (<see cref="s_batchBound"/>), so the test case that waits longest (its machine type started last) stays under the
/// test target's 10-minute hang timeout; a script started late gets only the time left. <see cref="Dispose"/> waits
/// for every started script, so none outlives the class (each script's own QEMU and engine processes are stopped by
/// <see cref="InteropScript.Run"/> when it ends).
/// </remarks>
public sealed class Qemu10PeerRuns : IDisposable
{
    /// <summary>
    /// Machine types and the runs on each. On every type: plain and multifd zstd into Engine, the relay pair and the zstd
    /// store restored into a fresh QEMU 10.0 of that type, and QEMU's mapped-ram file read by <c>engine extract</c>; on
    /// every type but pc-q35-10.0 (where mapped-ram-check.sh does it, with multifd and at an offset too) Engine's mapped-ram
    /// file (<c>incoming --save-stream --format mapped-ram</c>) restored by QEMU 10.0 of that type (mapped-ram-out).
    /// multifd none on the per-round types (8.2, 9.2, 10.0), mapped-ram with multifd x2 (libvirt's parallel save) on the
    /// 10.0 types, and <c>engine migrate --machine-type</c> into QEMU 10.0 (to-qemu) on per-round types (10.0, 8.2) and
    /// per-section ones (7.2, 8.0). On pc-q35-10.0 only (the modes do not depend on the machine type's wire changes beyond
    /// what the runs above cover, and each costs a guest's worth of time): TLS (precopy and multifd zstd x2 into Engine,
    /// a relay pair with TLS on every leg into QEMU 10.0, <c>engine migrate --tls-creds</c> into QEMU 10.0 one stream and
    /// multifd zstd x2, and a store over TLS restored over TLS; mutual X.509, each QEMU destination with verify-peer and
    /// tls-authz), a store whose source is multifd, and a relay
    /// pair and a restore that write multifd into QEMU 10.0; there rather than on pc-i440fx-10.0 so that neither 10.0
    /// script nears its 5-minute bound under load. (xbzrle: xbzrle-diff.sh, a running guest of its own; qemu10-peer.sh's
    /// paused-source <c>xbzrle</c> run carries no XBZRLE record and is left out.) The longest first, so that the two lanes
    /// end close together.
    /// </summary>
    public static readonly IReadOnlyList<(string Machine, string[] Runs)> Plan =
    [
        ("pc-q35-10.0", ["plain", "multifd:zstd:2", "multifd:none:2", "relay", "store", "mapped-ram", "mapped-ram:2", "tls", "tls-multifd:zstd:2", "tls-relay", "tls-to-qemu", "tls-to-qemu:zstd:2", "tls-store", "store-multifd:zstd:2", "relay-multifd", "restore-multifd"]),
        ("pc-i440fx-10.0", ["plain", "multifd:zstd:2", "multifd:none:2", "relay", "store", "mapped-ram", "mapped-ram:2", "mapped-ram-out", "to-qemu:zstd:2"]),
        ("pc-i440fx-8.2", ["plain", "multifd:zstd:2", "multifd:none:2", "relay", "store", "mapped-ram", "mapped-ram-out", "to-qemu:zlib:2"]),
        ("pc-i440fx-9.2", ["plain", "multifd:zstd:2", "multifd:none:2", "relay", "store", "mapped-ram", "mapped-ram-out"]),
        ("pc-i440fx-7.2", ["plain", "multifd:zstd:2", "relay", "store", "mapped-ram", "mapped-ram-out", "to-qemu:zstd:2"]),
        ("pc-i440fx-8.0", ["plain", "multifd:zstd:2", "relay", "store", "mapped-ram", "mapped-ram-out", "to-qemu:zstd:2"]),
    ];

    /// <summary>
    /// The checks of tests/interop/mapped-ram-check.sh (mapped-ram files from QEMU 10 through inspect, extract with and
    /// without --offset, incoming --from file:, and a restore into QEMU 10), run once, on <see cref="MappedRamCheckMachine"/>.
    /// </summary>
    public static readonly IReadOnlyList<string> MappedRamChecks = ["mapped-ram", "mapped-ram+multifd", "mapped-ram-offset", "single-stream", "incoming", "restore", "engine-mapped-ram", "engine-mapped-ram+multifd", "transcode-mapped-ram", "engine-mapped-ram-offset"];

    /// <summary>The machine type mapped-ram-check.sh runs on: QEMU 10.0's current q35 type.</summary>
    public const string MappedRamCheckMachine = "pc-q35-10.0";

    /// <summary>The key of mapped-ram-check.sh's run in <see cref="For"/>.</summary>
    internal const string MappedRamCheckJob = "mapped-ram-check.sh";

    /// <summary>
    /// The checks of tests/interop/xbzrle-diff.sh under QEMU 10.0 (a running guest's xbzrle stream, with XBZRLE records,
    /// read by <c>engine extract</c> and passed on by <c>engine relay --from file:</c> into QEMU 10.0), on
    /// <see cref="XbzrleMachine"/>, its own guest boot.
    /// </summary>
    public static readonly IReadOnlyList<string> XbzrleChecks = ["incoming", "extract", "relay"];

    /// <summary>The machine type xbzrle-diff.sh runs on: QEMU 10.0's current q35 type.</summary>
    public const string XbzrleMachine = "pc-q35-10.0";

    /// <summary>The key of xbzrle-diff.sh's run in <see cref="For"/>.</summary>
    internal const string XbzrleJob = "xbzrle-diff.sh";

    /// <summary>How long one test case waits for its machine type's script: the batch bound and a margin.</summary>
    public static readonly TimeSpan WaitBound = TimeSpan.FromMinutes(9);

    private const int Lanes = 2;
    private static readonly TimeSpan s_batchBound = TimeSpan.FromMinutes(8.5);
    private static readonly TimeSpan s_scriptBound = TimeSpan.FromMinutes(5);
    private static readonly TimeSpan s_installBound = TimeSpan.FromMinutes(2);

    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _lanes = new(Lanes, Lanes);
    private Dictionary<string, Task<ScriptResult>>? _runs;

    /// <summary>
    /// The script run of <paramref name="machine"/> (or of <see cref="MappedRamCheckJob"/>, <see cref="XbzrleJob"/>); the
    /// first call starts the whole plan (after unpacking QEMU 10.0 with tests/interop/qemu10.sh when it is missing and this user can).
    /// </summary>
    internal Task<ScriptResult> For(QemuInterop qemu, string machine)
    {
        lock (_gate)
        {
            _runs ??= Start(qemu);
            return _runs[machine];
        }
    }

    /// <summary>Waits (bounded) for every script started, so that none outlives the test class.</summary>
    public void Dispose()
    {
        Task[] started;
        lock (_gate)
        {
            started = _runs?.Values.ToArray() ?? [];
        }

        // A script that failed to start faults its task; that is the test case's to report, not the disposal's.
        bool ended = Task.WhenAll(started).ContinueWith(_ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).Wait(WaitBound);
        if (ended)
        {
            // Only once every script has ended: past the bound one may still release its lane later.
            _lanes.Dispose();
        }
    }

    private Dictionary<string, Task<ScriptResult>> Start(QemuInterop qemu)
    {
        string root = qemu.Root!;
        string interop = Path.Combine(root, "tests", "interop");
        string engine = $"dotnet {Path.Combine(AppContext.BaseDirectory, "engine.dll")}";
        string qemu10 = Path.Combine(interop, "work", "qemu10", "qemu-system-x86_64");

        // The unpacking below counts against the plan's bound: the first case waits for both.
        DateTime deadline = DateTime.UtcNow + s_batchBound;

        // tests/install-deps.sh normally did this already. Without root/apt the scripts still start, and report every
        // check SKIPPED, with the reason.
        if (!File.Exists(qemu10) && Environment.IsPrivilegedProcess)
        {
            InteropScript.Run(
                Path.Combine(interop, "qemu10.sh"),
                [],
                new Dictionary<string, string> { ["QEMU10_TIME_LIMIT"] = ((int)s_installBound.TotalSeconds - 10).ToString(CultureInfo.InvariantCulture) },
                root,
                s_installBound);
        }

        // Longest first: the two 10.0 types, then mapped-ram-check.sh (a boot of the full guest of its own), then the rest;
        // xbzrle-diff.sh (a quick guest's boot and one running migration) last, to fill the lane that ends first.
        var jobs = new List<(string Key, string Script, string[] Arguments, Dictionary<string, string> Environment, string LimitVariable)>();
        foreach ((string machine, string[] checks) in Plan)
        {
            var environment = new Dictionary<string, string> { ["ENGINE"] = engine, ["INTEROP_WORK"] = qemu.Work };
            jobs.Add((machine, "qemu10-peer.sh", [machine, .. checks], environment, "Q10_TIME_LIMIT"));
            if (jobs.Count == 2)
            {
                jobs.Add((MappedRamCheckJob, "mapped-ram-check.sh", [], new Dictionary<string, string>
                {
                    ["ENGINE"] = engine,
                    ["INTEROP_WORK"] = qemu.Work,
                    ["QEMU10"] = qemu10,
                    ["MACHINE"] = MappedRamCheckMachine,
                    ["INTEROP_MEM_MIB"] = "256",
                }, "INTEROP_TIME_LIMIT"));
            }
        }

        jobs.Add((XbzrleJob, "xbzrle-diff.sh", [], new Dictionary<string, string>
        {
            ["ENGINE"] = engine,
            ["INTEROP_WORK"] = qemu.Work,
            ["QEMU_BIN"] = qemu10,
            ["QEMU_MACHINE"] = XbzrleMachine,
            ["QEMU_APPEND"] = "console=ttyS0 panic=-1 quiet no_timer_check guest.quick",
            ["INTEROP_MEM_MIB"] = "256",
        }, "XD_TIME_LIMIT"));

        var runs = new Dictionary<string, Task<ScriptResult>>();
        foreach (var job in jobs)
        {
            runs[job.Key] = Task.Factory.StartNew(
                () => RunOne(Path.Combine(interop, job.Script), job.Arguments, job.Environment, job.LimitVariable, root, deadline),
                CancellationToken.None,
                TaskCreationOptions.LongRunning,
                TaskScheduler.Default);
        }

        return runs;
    }

    private ScriptResult RunOne(string script, string[] arguments, Dictionary<string, string> environment, string limitVariable, string root, DateTime deadline)
    {
        _lanes.Wait();
        try
        {
            TimeSpan left = deadline - DateTime.UtcNow;
            TimeSpan bound = left < s_scriptBound ? left : s_scriptBound;
            string name = $"{Path.GetFileName(script)} {string.Join(' ', arguments.Take(1))}".Trim();
            if (bound < TimeSpan.FromSeconds(60))
            {
                return new ScriptResult(-1, true, $"{name} was not started: only {left.TotalSeconds:F0} s were left of the plan's {s_batchBound.TotalMinutes} minutes", [], TimeSpan.Zero);
            }

            // The script's own limit ends it first, with a report of the runs reached.
            environment[limitVariable] = ((int)(bound.TotalSeconds - 15)).ToString(CultureInfo.InvariantCulture);
            return InteropScript.Run(script, arguments, environment, root, bound);
        }
        finally
        {
            _lanes.Release();
        }
    }
}
