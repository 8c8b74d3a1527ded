using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Wire.Support;

/// <summary>Factories for the test-only codecs, shaped as the wire code's factory delegates.</summary>
internal static class TestCodecs
{
    public static IPageDecompressor Decompressor(CompressMethod method) => method switch
    {
        CompressMethod.Zlib => new TestZlibDecompressor(),
        CompressMethod.Zstd => new TestZstdDecompressor(),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    public static IPageCompressor Compressor(CompressionSettings settings) => settings.Method switch
    {
        CompressMethod.Zlib => new TestZlibCompressor(settings.Level),
        CompressMethod.Zstd => new TestZstdCompressor(settings.Level),
        _ => throw new ArgumentOutOfRangeException(nameof(settings)),
    };

    public static byte[] CompressPage(CompressMethod method, int level, ReadOnlySpan<byte> page)
    {
        using IPageCompressor compressor = Compressor(CompressionSettings.Create(method, level));
        var output = new byte[PageSizes.MaxCompressedPage];
        CompressResult result = compressor.Compress(page, output, out int written);
        if (result != CompressResult.Compressed)
        {
            throw new InvalidOperationException($"test page did not compress: {result}");
        }

        return output.AsSpan(0, written).ToArray();
    }
}
