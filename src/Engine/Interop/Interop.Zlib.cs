using System.Runtime.InteropServices;

namespace Engine;

internal static partial class Interop
{
    /// <summary>zlib's return codes and constants (zlib.h), C names kept.</summary>
    internal static class Zlib
    {
        public const int Z_OK = 0;
        public const int Z_STREAM_END = 1;
        public const int Z_NEED_DICT = 2;
        public const int Z_STREAM_ERROR = -2;
        public const int Z_DATA_ERROR = -3;
        public const int Z_MEM_ERROR = -4;
        public const int Z_BUF_ERROR = -5;
        public const int Z_VERSION_ERROR = -6;

        public const int Z_NO_FLUSH = 0;
        public const int Z_SYNC_FLUSH = 2;
        public const int Z_FINISH = 4;

        public const int Z_DEFLATED = 8;
        public const int Z_DEFAULT_STRATEGY = 0;

        /// <summary>deflateInit's default window: 32 KiB with the zlib (RFC 1950) wrapper, as QEMU's <c>deflateInit</c>.</summary>
        public const int MAX_WBITS = 15;

        /// <summary>deflateInit's default memLevel.</summary>
        public const int DEF_MEM_LEVEL = 8;
    }

    /// <summary>
    /// The zlib version the <see cref="ZStream"/> layout follows, passed to the <c>*Init_</c> functions as ZLIB_VERSION would be.
    /// zlib only compares its first character (the major version) and the struct size.
    /// </summary>
    internal static ReadOnlySpan<byte> ZlibAbiVersion => "1.2.13\0"u8;

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial byte* zlibVersion();

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static partial CULong compressBound(CULong sourceLen);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int deflateInit2_(ZStream* strm, int level, int method, int windowBits, int memLevel, int strategy, byte* version, int stream_size);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int deflateReset(ZStream* strm);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int deflate(ZStream* strm, int flush);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int deflateEnd(ZStream* strm);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int inflateInit2_(ZStream* strm, int windowBits, byte* version, int stream_size);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int inflateReset(ZStream* strm);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int inflate(ZStream* strm, int flush);

    [LibraryImport(NativeLibraries.ZlibLibraryName)]
    internal static unsafe partial int inflateEnd(ZStream* strm);
}
