using Engine.Codecs;

namespace Engine.Bench.Codecs;

/// <summary>The codec implementations the benchmarks compare.</summary>
internal enum PageCodecKind
{
    /// <summary>zstd through ZstdNet's libzstd (the C loop calls the same library).</summary>
    Zstd,

    /// <summary>The system zlib through Engine's LibraryImport wrapper (the C loop links the same libz.so.1).</summary>
    NativeZlib,

    /// <summary>SharpZipLib's managed deflate.</summary>
    SharpZipLib,
}

/// <summary>Maps a <see cref="PageCodecKind"/> to Engine's codec factory arguments.</summary>
internal static class PageCodecKinds
{
    public static CompressMethod MethodOf(PageCodecKind kind) => kind == PageCodecKind.Zstd ? CompressMethod.Zstd : CompressMethod.Zlib;

    public static ZlibImplementation ZlibOf(PageCodecKind kind) => kind == PageCodecKind.SharpZipLib ? ZlibImplementation.SharpZipLib : ZlibImplementation.Native;

    public static IPageCompressor CreateCompressor(PageCodecKind kind, int level)
        => PageCodecs.CreateCompressor(CompressionSettings.Create(MethodOf(kind), level), ZlibOf(kind));

    public static IPageDecompressor CreateDecompressor(PageCodecKind kind)
        => PageCodecs.CreateDecompressor(MethodOf(kind), ZlibOf(kind));
}
