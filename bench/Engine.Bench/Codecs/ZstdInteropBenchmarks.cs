using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Bench.Columns;
using Engine.Bench.Native;
using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;
using ZstdNet;

namespace Engine.Bench.Codecs;

/// <summary>
/// Where a C# zstd call spends its time beyond the C loop, at the fast levels where per-call overhead shows most: ZstdNet's
/// span API as is (DllImport with a GC transition, plus a second P/Invoke for ZSTD_isError, plus ZSTD_getFrameContentSize
/// when decompressing with its size pre-check), a LibraryImport doing the same calls, one with ZSTD_isError done in
/// managed code, and, as an experiment only, one without the GC transition.
/// </summary>
[Config(typeof(PageBenchmarkConfig))]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory, BenchmarkLogicalGroupRule.ByParams)]
[CategoriesColumn]
public unsafe class ZstdInteropBenchmarks
{
    private PageSet _pages = null!;
    private PayloadSet _payloads = null!;
    private NativeBuffer _output = null!;
    private NativeBuffer _destination = null!;
    private Compressor _zstdNetCompressor = null!;
    private Decompressor _zstdNetDecompressor = null!;
    private nint _cctx;
    private nint _dctx;
    private void* _cCctx;
    private void* _cDctx;

    [Params(-5, 1)]
    public int Level { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        ReferenceLibrary.EnsureLoaded();
        _pages = PageSet.CreateMix();
        _output = new NativeBuffer(PayloadSet.Stride);
        _destination = new NativeBuffer((long)PageSet.MixPages * PageSizes.PageSize);
        _zstdNetCompressor = new Compressor(new CompressionOptions(Level));
        _zstdNetDecompressor = new Decompressor();
        _cctx = Interop.Zstd.ZSTD_createCCtx();
        _dctx = Interop.Zstd.ZSTD_createDCtx();
        ReferenceLibrary.EnsureZstdBound();
        _cCctx = Interop.EngineBench.eb_zstd_cctx_create();
        _cDctx = Interop.EngineBench.eb_zstd_dctx_create();
        _payloads = PayloadSet.Zstd(_pages, Level);

        foreach (nuint code in (nuint[])[0, 4096, unchecked((nuint)(-1)), unchecked((nuint)(-70)), unchecked((nuint)(-120)), unchecked((nuint)(-121))])
        {
            if (Interop.Zstd.IsError(code) != (Interop.Zstd.ZSTD_isError(code) != 0))
            {
                throw new InvalidOperationException($"managed ZSTD_isError disagrees with libzstd for {code}.");
            }
        }

        long c = C_Compress();
        SameWork.Check(c, ZstdNet_Compress(), "ZstdNet compress");
        SameWork.Check(c, LibraryImport_IsErrorCall_Compress(), "LibraryImport compress");
        SameWork.Check(c, LibraryImport_Compress(), "LibraryImport compress");
        SameWork.Check(c, NoGCTransition_Compress(), "SuppressGCTransition compress");
        long d = C_Decompress();
        SameWork.Check(d, ZstdNet_Decompress(), "ZstdNet decompress");
        SameWork.Check(d, ZstdNet_NoPrecheck_Decompress(), "ZstdNet decompress");
        SameWork.Check(d, LibraryImport_Decompress(), "LibraryImport decompress");
        SameWork.Check(d, NoGCTransition_Decompress(), "SuppressGCTransition decompress");
        SameWork.Check(d, Checked_Decompress(), "checked decompress");
        SameWork.Check(d, CheckedNoTransition_Decompress(), "checked decompress without GC transition");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Interop.EngineBench.eb_zstd_cctx_free(_cCctx);
        Interop.EngineBench.eb_zstd_dctx_free(_cDctx);
        Interop.Zstd.ZSTD_freeCCtx(_cctx);
        Interop.Zstd.ZSTD_freeDCtx(_dctx);
        _zstdNetCompressor.Dispose();
        _zstdNetDecompressor.Dispose();
        _payloads.Dispose();
        _pages.Dispose();
        _output.Dispose();
        _destination.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PageSet.MixPages, Description = "C loop")]
    [BenchmarkCategory("compress")]
    public long C_Compress()
        => Interop.EngineBench.eb_zstd_compress_pages(_cCctx, _pages.Pointer, _pages.Count, Level, _output.Pointer, 0, null);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "ZstdNet Wrap(span, span)")]
    [BenchmarkCategory("compress")]
    public long ZstdNet_Compress()
    {
        Span<byte> destination = new(_output.Pointer, PageSizes.ZstdBound);
        long wire = 0;
        for (int i = 0; i < _pages.Count; i++)
        {
            wire += Math.Min(_zstdNetCompressor.Wrap(_pages.Page(i), destination), PageSizes.PageSize);
        }

        return wire;
    }

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "LibraryImport + isError P/Invoke")]
    [BenchmarkCategory("compress")]
    public long LibraryImport_IsErrorCall_Compress()
    {
        long wire = 0;
        for (int i = 0; i < _pages.Count; i++)
        {
            nuint n = Interop.Zstd.ZSTD_compressCCtx(_cctx, _output.Pointer, PageSizes.ZstdBound, PageAt(i), PageSizes.PageSize, Level);
            wire += Interop.Zstd.ZSTD_isError(n) != 0 ? Fail(n) : Math.Min((long)n, PageSizes.PageSize);
        }

        return wire;
    }

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "LibraryImport, managed isError")]
    [BenchmarkCategory("compress")]
    public long LibraryImport_Compress()
    {
        long wire = 0;
        for (int i = 0; i < _pages.Count; i++)
        {
            nuint n = Interop.Zstd.ZSTD_compressCCtx(_cctx, _output.Pointer, PageSizes.ZstdBound, PageAt(i), PageSizes.PageSize, Level);
            wire += Interop.Zstd.IsError(n) ? Fail(n) : Math.Min((long)n, PageSizes.PageSize);
        }

        return wire;
    }

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "(experiment) SuppressGCTransition")]
    [BenchmarkCategory("compress")]
    public long NoGCTransition_Compress()
    {
        long wire = 0;
        for (int i = 0; i < _pages.Count; i++)
        {
            nuint n = Interop.Zstd.ZSTD_compressCCtx_NoTransition(_cctx, _output.Pointer, PageSizes.ZstdBound, PageAt(i), PageSizes.PageSize, Level);
            wire += Interop.Zstd.IsError(n) ? Fail(n) : Math.Min((long)n, PageSizes.PageSize);
        }

        return wire;
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = PageSet.MixPages, Description = "C loop")]
    [BenchmarkCategory("decompress")]
    public long C_Decompress()
        => Interop.EngineBench.eb_zstd_decompress_pages(_cDctx, _payloads.Payloads, PayloadSet.Stride, _payloads.Sizes, _payloads.Count, _destination.Pointer, PageSizes.PageSize);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "C loop + frame checks")]
    [BenchmarkCategory("decompress")]
    public long CChecked_Decompress()
        => Interop.EngineBench.eb_zstd_decompress_pages_checked(_cDctx, _payloads.Payloads, PayloadSet.Stride, _payloads.Sizes, _payloads.Count, _destination.Pointer, PageSizes.PageSize);

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "ZstdNet Unwrap(span, span)")]
    [BenchmarkCategory("decompress")]
    public long ZstdNet_Decompress()
    {
        long total = 0;
        for (int i = 0; i < _payloads.Count; i++)
        {
            total += _zstdNetDecompressor.Unwrap(_payloads.Payload(i), DestinationPage(i));
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "ZstdNet Unwrap, no size pre-check")]
    [BenchmarkCategory("decompress")]
    public long ZstdNet_NoPrecheck_Decompress()
    {
        long total = 0;
        for (int i = 0; i < _payloads.Count; i++)
        {
            total += _zstdNetDecompressor.Unwrap(_payloads.Payload(i), DestinationPage(i), bufferSizePrecheck: false);
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "LibraryImport, managed isError")]
    [BenchmarkCategory("decompress")]
    public long LibraryImport_Decompress()
    {
        long total = 0;
        for (int i = 0; i < _payloads.Count; i++)
        {
            nuint n = Interop.Zstd.ZSTD_decompressDCtx(_dctx, _destination.Pointer + ((long)i << PageSizes.PageShift), PageSizes.PageSize, PayloadAt(i), (nuint)_payloads.Sizes[i]);
            total += Interop.Zstd.IsError(n) ? Fail(n) : (long)n;
        }

        return total;
    }

    /// <summary>Engine's decoder shape: the two frame checks as ordinary P/Invokes, then the decode.</summary>
    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "frame checks + LibraryImport")]
    [BenchmarkCategory("decompress")]
    public long Checked_Decompress()
    {
        long total = 0;
        for (int i = 0; i < _payloads.Count; i++)
        {
            byte* payload = PayloadAt(i);
            nuint size = (nuint)_payloads.Sizes[i];
            if (Interop.Zstd.ZSTD_findFrameCompressedSize(payload, size) != size || Interop.Zstd.ZSTD_getFrameContentSize(payload, size) != PageSizes.PageSize)
            {
                return Fail(size);
            }

            nuint n = Interop.Zstd.ZSTD_decompressDCtx(_dctx, _destination.Pointer + ((long)i << PageSizes.PageShift), PageSizes.PageSize, payload, size);
            total += Interop.Zstd.IsError(n) ? Fail(n) : (long)n;
        }

        return total;
    }

    /// <summary>The same with the two short header-parsing calls under SuppressGCTransition (legitimate: see Interop.Zstd).</summary>
    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "frame checks w/o GC transition + LibraryImport")]
    [BenchmarkCategory("decompress")]
    public long CheckedNoTransition_Decompress()
    {
        long total = 0;
        for (int i = 0; i < _payloads.Count; i++)
        {
            byte* payload = PayloadAt(i);
            nuint size = (nuint)_payloads.Sizes[i];
            if (Interop.Zstd.ZSTD_findFrameCompressedSize_NoTransition(payload, size) != size
                || Interop.Zstd.ZSTD_getFrameContentSize_NoTransition(payload, size) != PageSizes.PageSize)
            {
                return Fail(size);
            }

            nuint n = Interop.Zstd.ZSTD_decompressDCtx(_dctx, _destination.Pointer + ((long)i << PageSizes.PageShift), PageSizes.PageSize, payload, size);
            total += Interop.Zstd.IsError(n) ? Fail(n) : (long)n;
        }

        return total;
    }

    [Benchmark(OperationsPerInvoke = PageSet.MixPages, Description = "(experiment) SuppressGCTransition")]
    [BenchmarkCategory("decompress")]
    public long NoGCTransition_Decompress()
    {
        long total = 0;
        for (int i = 0; i < _payloads.Count; i++)
        {
            nuint n = Interop.Zstd.ZSTD_decompressDCtx_NoTransition(_dctx, _destination.Pointer + ((long)i << PageSizes.PageShift), PageSizes.PageSize, PayloadAt(i), (nuint)_payloads.Sizes[i]);
            total += Interop.Zstd.IsError(n) ? Fail(n) : (long)n;
        }

        return total;
    }

    private byte* PageAt(int index) => _pages.Pointer + ((long)index << PageSizes.PageShift);

    private byte* PayloadAt(int index) => _payloads.Payloads + ((long)index * PayloadSet.Stride);

    private Span<byte> DestinationPage(int index) => _destination.Slice((long)index << PageSizes.PageShift, PageSizes.PageSize);

    private static long Fail(nuint code) => throw new InvalidOperationException($"libzstd error {code}");
}
