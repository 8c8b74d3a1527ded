namespace Engine.Codecs;

/// <summary>Which zlib implementation compresses and decompresses zlib pages.</summary>
public enum ZlibImplementation
{
    /// <summary>The system's native zlib (<c>libz.so.1</c>) through Engine's own interop: fastest, allocates nothing per page.</summary>
    Native = 0,

    /// <summary>SharpZipLib's managed deflate: no native dependency, slower, allocates per page.</summary>
    SharpZipLib = 1,
}
