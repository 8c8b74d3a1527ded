using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Engine.Bench.Checks;
using Engine.Bench.Native;

namespace Engine.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
        try
        {
            return Run(args);
        }
        catch (Exception e) when (e is DllNotFoundException or EngineException { Kind: EngineErrorKind.Native } or InvalidOperationException { Source: "Engine.Bench" })
        {
            // A missing or stale native library, or a C/C# mismatch: the message names the file and the fix.
            Console.Error.WriteLine($"Engine.Bench: {e.Message}");
            return 2;
        }
    }

    private static int Run(string[] args)
    {
        // Fail fast, before BenchmarkDotNet builds anything, when the C reference loops are missing.
        if (!args.Contains("--list") && !args.Contains("--help"))
        {
            ReferenceLibrary.EnsureLoaded();
        }

        // Modes of our own first; everything else goes to BenchmarkDotNet (--filter, --job, --list, ...).
        if (args.Length > 0)
        {
            switch (args[0])
            {
                case "--check-alloc":
                    return AllocationCheck.Run(Console.Out);
                case "--ratios":
                    return RatioReport.Run(Console.Out);
                case "--paired":
                    return PairedReport.Run(Console.Out, args[1..]);
                case "--info":
                    return MachineInfo.Run(Console.Out);
            }
        }

        IEnumerable<Summary> summaries = BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);

        // A benchmark whose setup threw (a C/C# mismatch, a missing native library) must fail the run, not just print NA.
        bool failed = summaries.Any(s => s.HasCriticalValidationErrors || s.Reports.Any(r => !r.Success));
        return failed ? 1 : 0;
    }
}
