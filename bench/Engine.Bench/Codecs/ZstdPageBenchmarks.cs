using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Bench.Columns;
using Engine.Bench.Native;
using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Codecs;

/// <summary>
/// zstd per page over the page mix: the C# path (Engine's zstd compressor on ZstdNet) against the C loop over the same
/// libzstd and the same pages, in one process. Times are per page (OperationsPerInvoke); the Ratio column is C# / C.
/// </summary>
[Config(typeof(PageBenchmarkConfig))]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public unsafe class ZstdPageBenchmarks
{
    private PageSet _pages = null!;
    private PayloadSet _payloads = null!;
    private NativeBuffer _output = null!;
    private NativeBuffer _destination = null!;
    private IPageCompressor _compressor = null!;
    private IPageDecompressor _decompressor = null!;
    private void* _cctx;
    private void* _dctx;

    /// <summary>zstd levels: the default 1, the usual 3, 6, 9, the slow 19, and a fast (negative) level.</summary>
    [Params(-5, 1, 3, 6, 9, 19)]
    public int Level { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ReferenceLibrary.EnsureLoaded();
        _pages = PageSet.CreateMix();
        _output = new NativeBuffer(PayloadSet.Stride);
        _destination = new NativeBuffer((long)PageSet.MixPages * PageSizes.PageSize);

        // The C# contexts first: they load libzstd, which the C loops then bind to.
        _compressor = PageCodecKinds.CreateCompressor(PageCodecKind.Zstd, Level);
        _decompressor = PageCodecKinds.CreateDecompressor(PageCodecKind.Zstd);
        ReferenceLibrary.EnsureZstdBound();
        _cctx = Interop.EngineBench.eb_zstd_cctx_create();
        _dctx = Interop.EngineBench.eb_zstd_dctx_create();
        _payloads = PayloadSet.Zstd(_pages, Level);

        // Both sides must do the same work: the same wire bytes out, the same pages back.
        SameWork.Check(C_Compress(), CSharp_Compress(), "zstd compress");
        SameWork.Check(C_Decompress(), CSharp_Decompress(), "zstd decompress");
        SameWork.Check(C_Decompress(), CChecked_Decompress(), "zstd decompress (checked)");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Interop.EngineBench.eb_zstd_cctx_free(_cctx);
        Interop.EngineBench.eb_zstd_dctx_free(_dctx);
        _compressor.Dispose();
        _decompressor.Dispose();
        _payloads.Dispose();
        _pages.Dispose();
        _output.Dispose();
        _destination.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PageSet.MixPages, Description = "C loop")]
    [BenchmarkCategory("compress")]
    [PageCodec(PageCodecKind.Zstd)]
    public long C_Compress()
        => Interop.EngineBench.eb_zstd_compress_pages(_cctx, _pages.Pointer, _pages.Count, Level, _output.Pointer, 0, null);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C# ZstdNet")]
    [BenchmarkCategory("compress")]
    [PageCodec(PageCodecKind.Zstd)]
    public long CSharp_Compress()
        => CSharpLoops.CompressAll(_compressor, _pages, _output.Slice(0, PageSizes.ZstdBound));

    [Benchmark(Baseline = true, OperationsPerInvoke = PageSet.MixPages, Description = "C loop")]
    [BenchmarkCategory("decompress")]
    [PageCodec(PageCodecKind.Zstd)]
    public long C_Decompress()
        => Interop.EngineBench.eb_zstd_decompress_pages(_dctx, _payloads.Payloads, PayloadSet.Stride, _payloads.Sizes, _payloads.Count, _destination.Pointer, PageSizes.PageSize);

    /// <summary>The C loop plus the frame checks Engine makes before decoding (see eb_zstd_decompress_pages_checked).</summary>
    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C loop + frame checks")]
    [BenchmarkCategory("decompress")]
    [PageCodec(PageCodecKind.Zstd)]
    public long CChecked_Decompress()
        => Interop.EngineBench.eb_zstd_decompress_pages_checked(_dctx, _payloads.Payloads, PayloadSet.Stride, _payloads.Sizes, _payloads.Count, _destination.Pointer, PageSizes.PageSize);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C# ZstdNet")]
    [BenchmarkCategory("decompress")]
    [PageCodec(PageCodecKind.Zstd)]
    public long CSharp_Decompress()
        => CSharpLoops.DecompressAll(_decompressor, _payloads, _destination);
}
