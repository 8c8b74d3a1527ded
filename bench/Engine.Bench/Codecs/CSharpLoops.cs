using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Codecs;

/// <summary>
/// The C# side of each comparison: the same loop as the C one (native/enginebench.c), through Engine's codec interfaces,
/// with one context and one output buffer reused for every page, as a compress worker does.
/// </summary>
internal static unsafe class CSharpLoops
{
    /// <summary>Compresses every page into <paramref name="destination"/>; returns the bytes that would go on the wire.</summary>
    public static long CompressAll(IPageCompressor compressor, PageSet pages, Span<byte> destination)
    {
        long wire = 0;
        for (int i = 0; i < pages.Count; i++)
        {
            CompressResult result = compressor.Compress(pages.Page(i), destination, out int written);
            wire += result switch
            {
                CompressResult.Compressed => written,
                CompressResult.SendRaw => PageSizes.PageSize,
                _ => throw new InvalidOperationException($"page {i}: {result}"),
            };
        }

        return wire;
    }

    /// <summary>Decompresses every payload into its own page of <paramref name="pages"/>; returns the bytes decompressed.</summary>
    public static long DecompressAll(IPageDecompressor decompressor, PayloadSet payloads, NativeBuffer pages)
    {
        long total = 0;
        for (int i = 0; i < payloads.Count; i++)
        {
            DecompressStatus status = decompressor.Decompress(payloads.Payload(i), pages.Slice((long)i * PageSizes.PageSize, PageSizes.PageSize));
            if (status != DecompressStatus.Ok)
            {
                throw new InvalidOperationException($"payload {i}: {status}");
            }

            total += PageSizes.PageSize;
        }

        return total;
    }
}
