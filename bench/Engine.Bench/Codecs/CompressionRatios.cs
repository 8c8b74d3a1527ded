using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Codecs;

/// <summary>How well a codec and level compress a set of pages.</summary>
internal static class CompressionRatios
{
    /// <summary>Compresses every page once with the C# codec and sums the wire bytes (raw pages count as 4096).</summary>
    public static (long WireBytes, double Ratio) Measure(PageCodecKind kind, int level, PageSet pages)
    {
        using IPageCompressor compressor = PageCodecKinds.CreateCompressor(kind, level);
        byte[] destination = new byte[PageSizes.MaxCompressedPage];
        long wire = CSharpLoops.CompressAll(compressor, pages, destination);
        return (wire, (double)pages.Count * PageSizes.PageSize / wire);
    }
}
