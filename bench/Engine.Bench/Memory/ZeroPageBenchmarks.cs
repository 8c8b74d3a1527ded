using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Bench.Columns;
using Engine.Bench.Native;
using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Memory;

/// <summary>
/// Zero-page check on cached zero pages (the worst case: every byte is read): Engine's ZeroPage.IsZero against the C loop
/// (AVX2 when the CPU has it, as the JIT uses). 8 pages (32 KiB) stay in L1, 128 pages (512 KiB) in L2; each invocation
/// checks <see cref="PagesPerInvoke"/> pages by going over the set several times.
/// </summary>
[Config(typeof(ZeroPageBenchmarkConfig))]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByParams)]
public unsafe class ZeroPageBenchmarks
{
    public const int PagesPerInvoke = 1024;

    private PageSet _pages = null!;
    private int _rounds;

    /// <summary>How many distinct pages are checked over and over: sized to stay in L1 or in L2.</summary>
    [Params(8, 128)]
    public int CachedPages { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ReferenceLibrary.EnsureLoaded();
        _pages = PageSet.CreateZero(CachedPages);
        _rounds = PagesPerInvoke / CachedPages;
        SameWork.Check(C_IsZero(), CSharp_IsZero(), "zero-page check");
    }

    [GlobalCleanup]
    public void Cleanup() => _pages.Dispose();

    [Benchmark(Baseline = true, OperationsPerInvoke = PagesPerInvoke, Description = "C loop")]
    public long C_IsZero() => Interop.EngineBench.eb_zero_pages(_pages.Pointer, _pages.Count, _rounds);

    [Benchmark(OperationsPerInvoke = PagesPerInvoke, Description = "C# ZeroPage.IsZero")]
    public long CSharp_IsZero()
    {
        long zero = 0;
        for (int r = 0; r < _rounds; r++)
        {
            for (int i = 0; i < _pages.Count; i++)
            {
                if (ZeroPage.IsZero(new ReadOnlySpan<byte>(_pages.Pointer + ((long)i << PageSizes.PageShift), PageSizes.PageSize)))
                {
                    zero++;
                }
            }
        }

        return zero;
    }
}
