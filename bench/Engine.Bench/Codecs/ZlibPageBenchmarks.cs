using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Bench.Columns;
using Engine.Bench.Native;
using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Codecs;

/// <summary>
/// zlib per page over the page mix: the C loop over the system zlib (baseline), Engine's native zlib path over the same
/// libz.so.1, and SharpZipLib. Times are per page; the Ratio column is each row / the C loop, so SharpZipLib's ratio to
/// native zlib is its Ratio divided by native zlib's.
/// </summary>
[Config(typeof(PageBenchmarkConfig))]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public unsafe class ZlibPageBenchmarks
{
    private PageSet _pages = null!;
    private PayloadSet _payloads = null!;
    private NativeBuffer _output = null!;
    private NativeBuffer _destination = null!;
    private IPageCompressor _native = null!;
    private IPageCompressor _sharpZipLib = null!;
    private IPageDecompressor _nativeInflater = null!;
    private IPageDecompressor _sharpZipLibInflater = null!;
    private void* _deflate;
    private void* _inflate;

    /// <summary>zlib levels: QEMU's default 1, then 3, 6 (zlib's default) and 9.</summary>
    [Params(1, 3, 6, 9)]
    public int Level { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ReferenceLibrary.EnsureLoaded();
        _pages = PageSet.CreateMix();
        _output = new NativeBuffer(PayloadSet.Stride);
        _destination = new NativeBuffer((long)PageSet.MixPages * PageSizes.PageSize);
        _native = PageCodecKinds.CreateCompressor(PageCodecKind.NativeZlib, Level);
        _sharpZipLib = PageCodecKinds.CreateCompressor(PageCodecKind.SharpZipLib, Level);
        _nativeInflater = PageCodecKinds.CreateDecompressor(PageCodecKind.NativeZlib);
        _sharpZipLibInflater = PageCodecKinds.CreateDecompressor(PageCodecKind.SharpZipLib);
        _deflate = Interop.EngineBench.eb_zlib_deflate_create(Level);
        _inflate = Interop.EngineBench.eb_zlib_inflate_create();
        _payloads = PayloadSet.Zlib(_pages, Level);

        // The native paths must write the very bytes the C loop writes; SharpZipLib's deflate differs, so for it only the
        // decompressed side is compared.
        SameWork.Check(C_Compress(), NativeZlib_Compress(), "zlib compress (native)");
        SameWork.Check(C_Decompress(), NativeZlib_Decompress(), "zlib decompress (native)");
        SameWork.Check(C_Decompress(), SharpZipLib_Decompress(), "zlib decompress (SharpZipLib)");
        if (SharpZipLib_Compress() <= 0)
        {
            throw new InvalidOperationException("SharpZipLib compressed nothing.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Interop.EngineBench.eb_zlib_deflate_free(_deflate);
        Interop.EngineBench.eb_zlib_inflate_free(_inflate);
        _native.Dispose();
        _sharpZipLib.Dispose();
        _nativeInflater.Dispose();
        _sharpZipLibInflater.Dispose();
        _payloads.Dispose();
        _pages.Dispose();
        _output.Dispose();
        _destination.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PageSet.MixPages, Description = "C loop")]
    [BenchmarkCategory("compress")]
    [PageCodec(PageCodecKind.NativeZlib)]
    public long C_Compress()
        => Interop.EngineBench.eb_zlib_compress_pages(_deflate, _pages.Pointer, _pages.Count, _output.Pointer, 0, null);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C# native zlib")]
    [BenchmarkCategory("compress")]
    [PageCodec(PageCodecKind.NativeZlib)]
    public long NativeZlib_Compress()
        => CSharpLoops.CompressAll(_native, _pages, _output.Slice(0, PageSizes.ZlibBound));

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C# SharpZipLib")]
    [BenchmarkCategory("compress")]
    [PageCodec(PageCodecKind.SharpZipLib)]
    public long SharpZipLib_Compress()
        => CSharpLoops.CompressAll(_sharpZipLib, _pages, _output.Slice(0, PageSizes.ZlibBound));

    [Benchmark(Baseline = true, OperationsPerInvoke = PageSet.MixPages, Description = "C loop")]
    [BenchmarkCategory("decompress")]
    [PageCodec(PageCodecKind.NativeZlib)]
    public long C_Decompress()
        => Interop.EngineBench.eb_zlib_decompress_pages(_inflate, _payloads.Payloads, PayloadSet.Stride, _payloads.Sizes, _payloads.Count, _destination.Pointer, PageSizes.PageSize);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C# native zlib")]
    [BenchmarkCategory("decompress")]
    [PageCodec(PageCodecKind.NativeZlib)]
    public long NativeZlib_Decompress()
        => CSharpLoops.DecompressAll(_nativeInflater, _payloads, _destination);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C# SharpZipLib")]
    [BenchmarkCategory("decompress")]
    [PageCodec(PageCodecKind.SharpZipLib)]
    public long SharpZipLib_Decompress()
        => CSharpLoops.DecompressAll(_sharpZipLibInflater, _payloads, _destination);
}
