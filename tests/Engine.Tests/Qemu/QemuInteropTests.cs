using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Qemu;

/// <summary>
/// The three interop checks of issue 4, against real QEMU 7.2 (Debian's qemu-system-x86, TCG), through the built
/// <c>engine</c> CLI: tests/interop/run-interop.sh runs them once, and each test here asserts its check's summary line.
/// </summary>
[Collection(QemuInteropCollection.Name)]
public sealed class QemuInteropTests(QemuInterop qemu, ITestOutputHelper output)
{
    [SkippableFact]
    public void Check1_extract_of_the_plain_and_of_each_compressed_Qemu_stream_gives_identical_images() => AssertPasses(1);

    [SkippableFact]
    public void Check2_transcode_of_the_plain_stream_to_zlib_loads_into_Qemu_which_runs_and_keeps_ticking() => AssertPasses(2);

    [SkippableFact]
    public void Check3_transcode_to_zstd_extracts_identical_images_and_back_to_zlib_loads_into_Qemu() => AssertPasses(3);

    private void AssertPasses(int number)
    {
        InteropRun run = qemu.Checks();
        ScriptResult script = run.Script;
        if (qemu.StreamsLog is { } streams)
        {
            output.WriteLine($"make-streams.sh: exit {streams.ExitCode}, {streams.Elapsed.TotalSeconds:F0} s; {streams.Tail(3)}");
        }

        output.WriteLine($"run-interop.sh: exit {script.ExitCode}, {script.Elapsed.TotalSeconds:F0} s");
        output.WriteLine(script.Log);
        Assert.False(script.TimedOut, $"run-interop.sh was killed at its hang timeout after {script.Elapsed.TotalSeconds:F0} s; log ends:\n{script.Tail()}");
        Assert.True(script.Leftovers.Count == 0, "processes run-interop.sh started were still running after it (now killed):\n" + string.Join('\n', script.Leftovers));
        Assert.True(run.Checks.TryGetValue(number, out InteropCheck? check), $"run-interop.sh printed no line for check {number}; log ends:\n{script.Tail()}");

        // QEMU is here (otherwise Checks() skipped), so a check the script skipped is a failure, not a skip.
        Assert.True(check.Status == "PASS", $"interop check {number}: {check.Status} {check.Detail}; log ends:\n{script.Tail()}");
    }
}
