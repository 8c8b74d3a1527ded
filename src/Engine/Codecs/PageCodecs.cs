namespace Engine.Codecs;

/// <summary>Creates page compressors and decompressors for a method.</summary>
public static class PageCodecs
{
    /// <summary>A compressor for <paramref name="settings"/>; one per worker thread.</summary>
    public static IPageCompressor CreateCompressor(CompressionSettings settings, ZlibImplementation zlib = ZlibImplementation.Native)
        => throw new NotImplementedException("codecs: issue 2");

    /// <summary>A decompressor of exactly one method; one per worker thread.</summary>
    public static IPageDecompressor CreateDecompressor(CompressMethod method, ZlibImplementation zlib = ZlibImplementation.Native)
        => throw new NotImplementedException("codecs: issue 2");
}
