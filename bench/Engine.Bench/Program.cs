using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Engine.Bench.Checks;

namespace Engine.Bench;

internal static class Program
{
    private static int Main(string[] args)
    {
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
