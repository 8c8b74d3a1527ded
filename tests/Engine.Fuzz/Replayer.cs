using System.Diagnostics;

namespace Engine.Fuzz;

/// <summary>
/// Runs a target over saved inputs outside AFL: to triage the crashes and hangs AFL found, and to check that a fix holds.
/// Prints one line per input that is a finding, then a summary; exits 1 when any input crashed or hung.
/// </summary>
internal static class Replayer
{
    /// <summary>An input that takes this long is reported as a hang (the fuzz runs use the same AFL timeout).</summary>
    private static readonly TimeSpan s_hangLimit = TimeSpan.FromSeconds(5);

    public static int Run(string targetName, string[] paths)
    {
        IFuzzTarget target = FuzzTargets.Create(targetName);
        int accepted = 0;
        int rejected = 0;
        int findings = 0;
        foreach (string file in Inputs(paths))
        {
            byte[] input = File.ReadAllBytes(file);
            FuzzOutcome outcome = default;
            Exception? finding = null;

            // On its own thread so that a hang is reported instead of stalling the replay; a hung thread cannot be
            // stopped, so the replay ends there.
            var worker = new Thread(() =>
            {
                try
                {
                    outcome = target.Run(input);
                }
                catch (Exception e)
                {
                    finding = e;
                }
            })
            { IsBackground = true, Name = $"replay {Path.GetFileName(file)}" };
            var watch = Stopwatch.StartNew();
            worker.Start();
            if (!worker.Join(s_hangLimit))
            {
                Console.WriteLine($"HANG   {file}: still running after {s_hangLimit.TotalSeconds} s");
                Console.WriteLine($"{targetName}: stopped at a hang after {accepted} accepted, {rejected} rejected, {findings} crashed");
                return 1;
            }

            if (finding is not null)
            {
                findings++;
                Console.WriteLine($"CRASH  {file}: {finding.GetType().FullName}: {finding.Message}");
                Console.WriteLine(finding.StackTrace);
            }
            else if (outcome == FuzzOutcome.Accepted)
            {
                accepted++;
            }
            else
            {
                rejected++;
            }

            if (watch.Elapsed > TimeSpan.FromSeconds(1))
            {
                Console.WriteLine($"SLOW   {file}: {watch.Elapsed.TotalMilliseconds:0} ms");
            }
        }

        Console.WriteLine($"{targetName}: {accepted} accepted, {rejected} rejected cleanly, {findings} crashed");
        return findings == 0 ? 0 : 1;
    }

    private static IEnumerable<string> Inputs(string[] paths)
    {
        foreach (string path in paths)
        {
            if (Directory.Exists(path))
            {
                // AFL keeps a README.txt next to its crashes; it is not an input.
                foreach (string file in Directory.EnumerateFiles(path).Where(f => !Path.GetFileName(f).StartsWith("README", StringComparison.Ordinal)).Order(StringComparer.Ordinal))
                {
                    yield return file;
                }
            }
            else
            {
                yield return path;
            }
        }
    }
}
