using Engine.Bench.Codecs;
using Engine.Bench.Native;
using Engine.Bench.Pages;
using Engine.Bench.Pipeline;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Checks;

/// <summary>
/// `--check-alloc`: the allocation budget. Runs each hot path over the page mix after a warm-up and counts the bytes this
/// thread allocated; the zstd, native zlib and zero-check paths must allocate nothing per page, or the process exits 1
/// (so CI can run it). The multi-thread engines are held to the same budget, counting every thread. SharpZipLib is measured and reported, not held to zero: its deflater allocates per call.
/// </summary>
internal static class AllocationCheck
{
    private const int WarmupPasses = 3;
    private const int MeasuredPasses = 20;

    // An engine pass is 4096 pages (16 MiB), 16 times a codec pass.
    private const int EnginePasses = 2;

    // A one-off allocation during a round (tiered JIT installing a new code version, a runtime data structure growing) is not
    // a per-page allocation; a per-page one shows in every round. So the budget is checked on the quietest of a few rounds.
    private const int Rounds = 5;

    public static int Run(TextWriter output)
    {
        ReferenceLibrary.EnsureLoaded();
        using PageSet pages = PageSet.CreateMix();
        using NativeBuffer destination = new((long)PageSet.MixPages * PageSizes.PageSize);
        byte[] output1 = new byte[PageSizes.MaxCompressedPage];
        List<(string Path, double PerPage, bool Budgeted)> rows = [];

        foreach (int level in (int[])[-5, 1, 3, 19])
        {
            using IPageCompressor compressor = PageCodecKinds.CreateCompressor(PageCodecKind.Zstd, level);
            using IPageDecompressor decompressor = PageCodecKinds.CreateDecompressor(PageCodecKind.Zstd);
            using PayloadSet payloads = PayloadSet.Zstd(pages, level);
            rows.Add(($"zstd {level} compress", PerPage(() => CSharpLoops.CompressAll(compressor, pages, output1)), true));
            rows.Add(($"zstd {level} decompress", PerPage(() => CSharpLoops.DecompressAll(decompressor, payloads, destination)), true));
        }

        foreach (int level in (int[])[1, 6, 9])
        {
            using PayloadSet payloads = PayloadSet.Zlib(pages, level);
            foreach (PageCodecKind kind in (PageCodecKind[])[PageCodecKind.NativeZlib, PageCodecKind.SharpZipLib])
            {
                bool budgeted = kind == PageCodecKind.NativeZlib;
                string name = kind == PageCodecKind.NativeZlib ? "native zlib" : "SharpZipLib";
                using IPageCompressor compressor = PageCodecKinds.CreateCompressor(kind, level);
                using IPageDecompressor decompressor = PageCodecKinds.CreateDecompressor(kind);
                rows.Add(($"{name} {level} compress", PerPage(() => CSharpLoops.CompressAll(compressor, pages, output1)), budgeted));
                rows.Add(($"{name} {level} decompress", PerPage(() => CSharpLoops.DecompressAll(decompressor, payloads, destination)), budgeted));
            }
        }

        rows.Add(("zero-page check", PerPage(() => CountZero(pages)), true));

        // The engines: every thread's allocations count (workers included), over a steady-state pass of 16 MiB.
        foreach (string codec in (string[])["zstd-1", "zlib-1"])
        {
            PipelineBenchmarks pipeline = new() { Codec = codec, Workers = 2 };
            pipeline.Setup();
            try
            {
                rows.Add(($"engine {codec} x2 compress", PerPage(pipeline.Compress, PipelineBenchmarks.GuestPages, EnginePasses, allThreads: true), true));
                rows.Add(($"engine {codec} x2 decompress", PerPage(pipeline.Decompress, PipelineBenchmarks.GuestPages, EnginePasses, allThreads: true), true));
            }
            finally
            {
                pipeline.Cleanup();
            }
        }

        int failures = 0;
        output.WriteLine($"{"path",-28} {"B/page",10}  budget");
        foreach ((string path, double perPage, bool budgeted) in rows)
        {
            bool over = budgeted && perPage > 0;
            failures += over ? 1 : 0;
            output.WriteLine($"{path,-28} {perPage,10:0.###}  {(budgeted ? (over ? "0 B: FAILED" : "0 B: ok") : "(reported only)")}");
        }

        output.WriteLine(failures == 0 ? "allocation budget: ok" : $"allocation budget: {failures} path(s) allocate per page");
        return failures == 0 ? 0 : 1;
    }

    private static double PerPage(Func<long> pass, int pagesPerPass = PageSet.MixPages, int passes = MeasuredPasses, bool allThreads = false)
    {
        for (int i = 0; i < WarmupPasses; i++)
        {
            pass();
        }

        long least = long.MaxValue;
        for (int round = 0; round < Rounds; round++)
        {
            long before = Allocated(allThreads);
            for (int i = 0; i < passes; i++)
            {
                pass();
            }

            least = Math.Min(least, Allocated(allThreads) - before);
        }

        return (double)least / ((long)passes * pagesPerPass);
    }

    private static long Allocated(bool allThreads)
        => allThreads ? GC.GetTotalAllocatedBytes(precise: true) : GC.GetAllocatedBytesForCurrentThread();

    private static long CountZero(PageSet pages)
    {
        long zero = 0;
        for (int i = 0; i < pages.Count; i++)
        {
            zero += ZeroPage.IsZero(pages.Page(i)) ? 1 : 0;
        }

        return zero;
    }
}
