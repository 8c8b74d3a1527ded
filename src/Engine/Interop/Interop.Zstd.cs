using System.Runtime.InteropServices;

namespace Engine;

internal static partial class Interop
{
    // Compression and decompression go through ZstdNet; Engine imports only what ZstdNet does not expose allocation-free:
    // the version (for the self-check) and the frame inspection the page decoder does before decoding.

    /// <summary>ZSTD_CONTENTSIZE_UNKNOWN: the frame header does not state its decompressed size.</summary>
    internal const ulong ZSTD_CONTENTSIZE_UNKNOWN = ulong.MaxValue;

    /// <summary>ZSTD_CONTENTSIZE_ERROR: not a valid frame header (bad magic, too short).</summary>
    internal const ulong ZSTD_CONTENTSIZE_ERROR = ulong.MaxValue - 1;

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial uint ZSTD_versionNumber();

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static unsafe partial byte* ZSTD_versionString();

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial nuint ZSTD_compressBound(nuint srcSize);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial uint ZSTD_isError(nuint code);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static unsafe partial nuint ZSTD_findFrameCompressedSize(byte* src, nuint srcSize);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static unsafe partial ulong ZSTD_getFrameContentSize(byte* src, nuint srcSize);
}
