using System.Runtime.InteropServices;
using Xunit;
using Xunit.Sdk;

namespace Engine.Tests.Qemu;

/// <summary>
/// The shared state of the <see cref="QemuInteropCollection"/>: real QEMU 7.2, the test guest and the three migration
/// streams it saved (tests/interop/make-streams.sh, made once here), and one run of tests/interop/run-interop.sh.
/// </summary>
/// <remarks>
/// Where QEMU cannot be had (not Linux, not installed and not root to install it), every test of the collection is
/// reported as skipped with that reason. Where QEMU is present, nothing is skipped: a failure to make the streams
/// fails the tests, with the script's log.
/// <para>
/// Bounds: the test target runs <c>dotnet test --blame-hang-timeout 10m</c>, which kills the whole test host when one
/// test (or the gap before it, where this fixture is built) goes past ten minutes. Making the streams takes about a
/// minute and the checks about three, so their limits sit well below that, and a stall fails here with a log instead.
/// </para>
/// </remarks>
public sealed class QemuInterop
{
    /// <summary>The three streams make-streams.sh saves: plain, compress zlib level 1 and zlib level 9 (2 threads).</summary>
    public static readonly IReadOnlyList<string> StreamNames = new[] { "stream-plain.bin", "stream-zlib1.bin", "stream-zlib9.bin" };

    private static readonly TimeSpan s_streamsTimeout = TimeSpan.FromMinutes(6);
    private static readonly TimeSpan s_checksTimeout = TimeSpan.FromMinutes(8);

    private readonly string? _skipReason;
    private readonly string? _failure;
    private readonly string? _root;
    private readonly string _work = "";
    private readonly Lazy<InteropRun> _checks;

    /// <summary>Finds QEMU and the repository's tests/interop, and makes the guest and the streams unless they exist.</summary>
    public QemuInterop()
    {
        _checks = new Lazy<InteropRun>(RunChecks);
        if (!RuntimeInformation.IsOSPlatform(OSPlatform.Linux))
        {
            _skipReason = "the QEMU interop tests run on Linux only";
            return;
        }

        _root = FindRepositoryRoot();
        if (_root is null)
        {
            _skipReason = $"tests/interop is not beside the test binaries (no Engine.sln above {AppContext.BaseDirectory})";
            return;
        }

        string? fromEnvironment = Environment.GetEnvironmentVariable("INTEROP_WORK");
        _work = string.IsNullOrEmpty(fromEnvironment) ? Path.Combine(_root, "tests", "interop", "work") : Path.GetFullPath(fromEnvironment);
        bool canInstall = IsRoot && OnPath("apt-get");
        if (!HasQemu && !canInstall)
        {
            _skipReason = "qemu-system-x86_64 (and python3) are not installed, and this user cannot install them (needs root and apt-get)";
            return;
        }

        StreamsLog = InteropScript.Run(
            Path.Combine(_root, "tests", "interop", "make-streams.sh"),
            Array.Empty<string>(),
            new Dictionary<string, string>
            {
                ["INTEROP_WORK"] = _work,

                // The guest build (apt downloads) ends with a message of its own before the fixture's limit.
                ["GUEST_TIME_LIMIT"] = ((int)(s_streamsTimeout.TotalSeconds * 0.75)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            _root,
            s_streamsTimeout);
        if (StreamsLog.ExitCode == 0 && StreamNames.All(n => new FileInfo(Path.Combine(_work, n)) is { Exists: true, Length: > 0 }))
        {
            return;
        }

        if (!HasQemu)
        {
            _skipReason = "qemu-system-x86 could not be installed with apt-get; make-streams.sh said:\n" + StreamsLog.Tail(10);
            return;
        }

        _failure = (StreamsLog.TimedOut ? $"make-streams.sh did not finish within {s_streamsTimeout.TotalMinutes} min" : $"make-streams.sh failed (exit {StreamsLog.ExitCode})")
            + " although QEMU is installed; its log ends:\n" + StreamsLog.Tail();
    }

    /// <summary>True when qemu-system-x86_64 and python3 (the QMP helper) are on PATH.</summary>
    public static bool HasQemu => OnPath("qemu-system-x86_64") && OnPath("python3");

    /// <summary>The repository root (holding tests/interop), or null when QEMU cannot be had.</summary>
    internal string? Root => _root;

    /// <summary>The interop work directory (INTEROP_WORK).</summary>
    internal string Work => _work;

    /// <summary>make-streams.sh's run, or null when it was not run (QEMU cannot be had).</summary>
    internal ScriptResult? StreamsLog { get; }

    /// <summary>
    /// The directory holding <see cref="StreamNames"/>; skips the calling <c>[SkippableFact]</c> when QEMU cannot be had,
    /// and fails it when QEMU is present but the streams could not be made.
    /// </summary>
    public string RequireStreams()
    {
        Skip.If(_skipReason is not null, _skipReason);
        if (_failure is not null)
        {
            throw new XunitException(_failure);
        }

        return _work;
    }

    /// <summary>run-interop.sh's three checks, run once (on first use) against the CLI beside the tests.</summary>
    internal InteropRun Checks()
    {
        RequireStreams();
        return _checks.Value;
    }

    private InteropRun RunChecks()
    {
        string engine = Path.Combine(AppContext.BaseDirectory, "engine.dll");
        if (!File.Exists(engine))
        {
            throw new XunitException($"the engine CLI is not beside the tests: {engine}");
        }

        // run-interop.sh splits ENGINE on spaces; the test host's own dotnet runs the built CLI, so nothing is rebuilt.
        ScriptResult result = InteropScript.Run(
            Path.Combine(_root!, "tests", "interop", "run-interop.sh"),
            Array.Empty<string>(),
            new Dictionary<string, string>
            {
                ["ENGINE"] = $"dotnet {engine}",
                ["INTEROP_WORK"] = _work,
                ["INTEROP_TIME_LIMIT"] = ((int)(s_checksTimeout.TotalSeconds - 20)).ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            _root!,
            s_checksTimeout);
        return new InteropRun(result, InteropCheck.Parse(result.Log));
    }

    private static bool IsRoot => Environment.IsPrivilegedProcess;

    private static bool OnPath(string program)
    {
        string path = Environment.GetEnvironmentVariable("PATH") ?? "";
        return path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Any(dir => File.Exists(Path.Combine(dir, program)));
    }

    private static string? FindRepositoryRoot()
    {
        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Engine.sln")) && File.Exists(Path.Combine(dir.FullName, "tests", "interop", "run-interop.sh")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
