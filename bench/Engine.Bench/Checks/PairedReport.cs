using System.Globalization;
using Engine.Bench.Codecs;
using Engine.Bench.Memory;
using Engine.Bench.Pipeline;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Checks;

/// <summary>
/// `--paired [rounds] [group...]`: the C / C# comparisons of the BenchmarkDotNet classes (the very same setup and benchmark
/// methods), timed interleaved round by round (see <see cref="PairedComparison"/>) so the ratios hold on a busy machine.
/// Prints Markdown tables for docs/PERFORMANCE.md. Groups: zstd, interop, zlib, zero, pipeline (default: all).
/// </summary>
internal static class PairedReport
{
    private const int DefaultRounds = 15;

    public static int Run(TextWriter output, string[] args)
    {
        int rounds = args.Length > 0 && int.TryParse(args[0], CultureInfo.InvariantCulture, out int r) ? r : DefaultRounds;
        HashSet<string> groups = [.. args.Where(a => !int.TryParse(a, CultureInfo.InvariantCulture, out _))];
        bool all = groups.Count == 0;
        output.WriteLine($"Paired runs: {rounds} rounds; speed = baseline time / row time per page, median over the rounds [min, max];");
        output.WriteLine("cores busy = the process's CPU time / wall time while the row ran (median).");
        output.WriteLine();

        if (all || groups.Contains("zstd"))
        {
            Header(output, "zstd per page (C loop = baseline)", "MB/s");
            foreach (int level in (int[])[-5, 1, 3, 6, 9, 19])
            {
                ZstdPageBenchmarks b = new() { Level = level };
                b.Setup();
                try
                {
                    Print(output, $"zstd {level}", "compress", 1e6, new PairedComparison("", PagesPerRun)
                        .Add("C loop", b.C_Compress).Add("C# ZstdNet", b.CSharp_Compress).Run(rounds));
                    Print(output, $"zstd {level}", "decompress", 1e6, new PairedComparison("", PagesPerRun)
                        .Add("C loop", b.C_Decompress).Add("C loop + frame checks", b.CChecked_Decompress).Add("C# ZstdNet", b.CSharp_Decompress).Run(rounds));
                }
                finally
                {
                    b.Cleanup();
                }
            }

            output.WriteLine();
        }

        if (all || groups.Contains("interop"))
        {
            Header(output, "zstd interop overhead at the fast levels (C loop = baseline)", "MB/s");
            foreach (int level in (int[])[-5, 1])
            {
                ZstdInteropBenchmarks b = new() { Level = level };
                b.Setup();
                try
                {
                    Print(output, $"zstd {level}", "compress", 1e6, new PairedComparison("", PagesPerRun)
                        .Add("C loop", b.C_Compress)
                        .Add("ZstdNet Wrap(span, span)", b.ZstdNet_Compress)
                        .Add("LibraryImport + isError P/Invoke", b.LibraryImport_IsErrorCall_Compress)
                        .Add("LibraryImport, managed isError", b.LibraryImport_Compress)
                        .Add("(experiment) SuppressGCTransition", b.NoGCTransition_Compress)
                        .Run(rounds));
                    Print(output, $"zstd {level}", "decompress", 1e6, new PairedComparison("", PagesPerRun)
                        .Add("C loop", b.C_Decompress)
                        .Add("C loop + frame checks", b.CChecked_Decompress)
                        .Add("ZstdNet Unwrap(span, span)", b.ZstdNet_Decompress)
                        .Add("ZstdNet Unwrap, no size pre-check", b.ZstdNet_NoPrecheck_Decompress)
                        .Add("LibraryImport, managed isError", b.LibraryImport_Decompress)
                        .Add("frame checks + LibraryImport", b.Checked_Decompress)
                        .Add("frame checks w/o GC transition + LibraryImport", b.CheckedNoTransition_Decompress)
                        .Add("(experiment) SuppressGCTransition", b.NoGCTransition_Decompress)
                        .Run(rounds));
                }
                finally
                {
                    b.Cleanup();
                }
            }

            output.WriteLine();
        }

        if (all || groups.Contains("zlib"))
        {
            Header(output, "zlib per page (C loop over the system zlib = baseline)", "MB/s");
            foreach (int level in (int[])[1, 3, 6, 9])
            {
                ZlibPageBenchmarks b = new() { Level = level };
                b.Setup();
                try
                {
                    Print(output, $"zlib {level}", "compress", 1e6, new PairedComparison("", PagesPerRun)
                        .Add("C loop", b.C_Compress).Add("C# native zlib", b.NativeZlib_Compress).Add("C# SharpZipLib", b.SharpZipLib_Compress).Run(rounds));
                    Print(output, $"zlib {level}", "decompress", 1e6, new PairedComparison("", PagesPerRun)
                        .Add("C loop", b.C_Decompress).Add("C# native zlib", b.NativeZlib_Decompress).Add("C# SharpZipLib", b.SharpZipLib_Decompress).Run(rounds));
                }
                finally
                {
                    b.Cleanup();
                }
            }

            output.WriteLine();
        }

        if (all || groups.Contains("zero"))
        {
            Header(output, "zero-page check on cached zero pages (C loop = baseline)", "GB/s");
            foreach (int cached in (int[])[8, 128])
            {
                ZeroPageBenchmarks b = new() { CachedPages = cached };
                b.Setup();
                try
                {
                    Print(output, $"{cached} pages ({cached * 4} KiB)", "check", 1e9, new PairedComparison("", ZeroPageBenchmarks.PagesPerInvoke)
                        .Add("C loop", b.C_IsZero).Add("C# ZeroPage.IsZero", b.CSharp_IsZero).Run(rounds));
                }
                finally
                {
                    b.Cleanup();
                }
            }

            output.WriteLine();
        }

        if (all || groups.Contains("pipeline"))
        {
            Header(output, "engines over 16 MiB of page mix (1 worker = baseline; speed = speed-up)", "MB/s");
            foreach (string codec in (string[])["zstd-1", "zlib-1"])
            {
                PipelineBenchmarks[] engines = [.. ((int[])[1, 2, 8]).Select(w => new PipelineBenchmarks { Codec = codec, Workers = w })];
                try
                {
                    foreach (PipelineBenchmarks engine in engines)
                    {
                        engine.Setup();
                    }

                    PairedComparison compress = new("", PipelineBenchmarks.GuestPages);
                    PairedComparison decompress = new("", PipelineBenchmarks.GuestPages);
                    foreach (PipelineBenchmarks engine in engines)
                    {
                        compress.Add($"{engine.Workers} worker(s)", engine.Compress);
                        decompress.Add($"{engine.Workers} worker(s)", engine.Decompress);
                    }

                    Print(output, codec, "compress", 1e6, compress.Run(rounds));
                    Print(output, codec, "decompress", 1e6, decompress.Run(rounds));
                }
                finally
                {
                    foreach (PipelineBenchmarks engine in engines)
                    {
                        engine.Cleanup();
                    }
                }
            }

            output.WriteLine();
        }

        return 0;
    }

    private const int PagesPerRun = Pages.PageSet.MixPages;

    private static void Header(TextWriter output, string title, string unit)
    {
        output.WriteLine($"#### {title}");
        output.WriteLine();
        output.WriteLine($"| what | direction | row | {unit} | speed vs baseline | [min, max] | cores busy |");
        output.WriteLine("|---|---|---|---:|---:|---|---:|");
        output.Flush();
    }

    private static void Print(TextWriter output, string what, string direction, double unitBytes, IReadOnlyList<PairedResult> results)
    {
        foreach (PairedResult row in results)
        {
            double throughput = PageSizes.PageSize / (row.NsPerOp * 1e-9) / unitBytes;
            output.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"| {what} | {direction} | {row.Name} | {throughput:N0} | {1 / row.Ratio:F3}x | [{1 / row.MaxRatio:F2}, {1 / row.MinRatio:F2}] | {row.Cores:F2} |"));
        }

        output.Flush();
    }
}
