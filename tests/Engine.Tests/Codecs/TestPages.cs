using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Codecs;

/// <summary>Named test pages: the contract suite's round-trip cases.</summary>
internal static class TestPages
{
    public static readonly string[] Names = ["zero", "same-0x01", "same-0xAB", "same-0xFF", "text", "binary", "sparse", "random"];

    public static readonly string[] Compressible = ["zero", "same-0xAB", "text", "binary", "sparse"];

    public static byte[] Create(string name, ulong seed = 1)
    {
        byte[] page = new byte[PageSizes.PageSize];
        switch (name)
        {
            case "zero":
                break;
            case "same-0x01":
                page.AsSpan().Fill(0x01);
                break;
            case "same-0xAB":
                page.AsSpan().Fill(0xAB);
                break;
            case "same-0xFF":
                page.AsSpan().Fill(0xFF);
                break;
            case "text":
                PageMix.Fill(PageKind.Text, page, seed);
                break;
            case "binary":
                PageMix.Fill(PageKind.Binary, page, seed);
                break;
            case "sparse":
                PageMix.Fill(PageKind.Sparse, page, seed);
                break;
            case "random":
                PageMix.Fill(PageKind.Random, page, seed);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(name), name, "unknown test page");
        }

        return page;
    }

    /// <summary>Compresses <paramref name="page"/> and returns the payload; fails if the page went raw.</summary>
    public static byte[] Compress(IPageCompressor compressor, ReadOnlySpan<byte> page)
    {
        byte[] destination = new byte[compressor.MaxCompressedLength];
        CompressResult result = compressor.Compress(page, destination, out int written);
        Xunit.Assert.Equal(CompressResult.Compressed, result);
        return destination.AsSpan(0, written).ToArray();
    }
}
