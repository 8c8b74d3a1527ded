using Engine.Bench.Native;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Pages;

/// <summary>
/// Compressed payloads to decompress: the page mix compressed by the C loop at one level, keeping only the payloads that
/// came out smaller than a page (the others go on the wire raw and are never decompressed), repeated until there are
/// <see cref="PageSet.MixPages"/> of them so every decompress invocation handles the same number of pages.
/// </summary>
internal sealed unsafe class PayloadSet : IDisposable
{
    /// <summary>Bytes between two payloads: the largest bound, rounded up to a cache line.</summary>
    public const int Stride = (PageSizes.MaxCompressedPage + 63) & ~63;

    private readonly NativeBuffer _payloads;
    private readonly NativeBuffer _sizes;

    private PayloadSet(int count)
    {
        Count = count;
        _payloads = new NativeBuffer((long)count * Stride);
        _sizes = new NativeBuffer((long)count * sizeof(int));
    }

    public int Count { get; }

    public byte* Payloads => _payloads.Pointer;

    public int* Sizes => (int*)_sizes.Pointer;

    /// <summary>The compressed bytes of all payloads.</summary>
    public long TotalBytes { get; private set; }

    public ReadOnlySpan<byte> Payload(int index) => _payloads.Slice((long)index * Stride, Sizes[index]);

    /// <summary>zstd frames of the mix at <paramref name="level"/>, written by the C loop.</summary>
    public static PayloadSet Zstd(PageSet pages, int level)
    {
        ReferenceLibrary.EnsureZstdBound();
        using NativeBuffer all = new((long)pages.Count * Stride);
        using NativeBuffer sizes = new((long)pages.Count * sizeof(int));
        void* cctx = Interop.EngineBench.eb_zstd_cctx_create();
        try
        {
            long wire = Interop.EngineBench.eb_zstd_compress_pages(cctx, pages.Pointer, pages.Count, level, all.Pointer, Stride, (int*)sizes.Pointer);
            Check(wire, "eb_zstd_compress_pages");
        }
        finally
        {
            Interop.EngineBench.eb_zstd_cctx_free(cctx);
        }

        return Select(all, (int*)sizes.Pointer, pages.Count);
    }

    /// <summary>zlib streams of the mix at <paramref name="level"/>, written by the C loop.</summary>
    public static PayloadSet Zlib(PageSet pages, int level)
    {
        ReferenceLibrary.EnsureLoaded();
        using NativeBuffer all = new((long)pages.Count * Stride);
        using NativeBuffer sizes = new((long)pages.Count * sizeof(int));
        void* stream = Interop.EngineBench.eb_zlib_deflate_create(level);
        try
        {
            long wire = Interop.EngineBench.eb_zlib_compress_pages(stream, pages.Pointer, pages.Count, all.Pointer, Stride, (int*)sizes.Pointer);
            Check(wire, "eb_zlib_compress_pages");
        }
        finally
        {
            Interop.EngineBench.eb_zlib_deflate_free(stream);
        }

        return Select(all, (int*)sizes.Pointer, pages.Count);
    }

    public void Dispose()
    {
        _payloads.Dispose();
        _sizes.Dispose();
    }

    internal static void Check(long result, string function)
    {
        if (result < 0)
        {
            throw new InvalidOperationException($"{function} failed with {result}");
        }
    }

    private static PayloadSet Select(NativeBuffer all, int* sizes, int count)
    {
        List<int> compressed = [];
        for (int i = 0; i < count; i++)
        {
            if (sizes[i] < PageSizes.PageSize)
            {
                compressed.Add(i);
            }
        }

        if (compressed.Count == 0)
        {
            throw new InvalidOperationException("no page of the mix compressed: nothing to decompress.");
        }

        PayloadSet set = new(PageSet.MixPages);
        for (int i = 0; i < set.Count; i++)
        {
            int source = compressed[i % compressed.Count];
            set.Sizes[i] = sizes[source];
            set.TotalBytes += sizes[source];
            new ReadOnlySpan<byte>(all.Pointer + (long)source * Stride, sizes[source]).CopyTo(set._payloads.Slice((long)i * Stride, sizes[source]));
        }

        return set;
    }
}
