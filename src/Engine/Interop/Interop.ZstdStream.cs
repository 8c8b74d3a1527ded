using System.Runtime.InteropServices;

namespace Engine;

internal static partial class Interop
{
    // zstd's advanced API (zstd.h, stable since 1.4.0), for multifd: one compression context per channel, each packet one
    // frame (ZSTD_compress2); QEMU's shape, one stream per channel kept open for the whole migration (ZSTD_e_continue per
    // page, ZSTD_e_flush per packet, never ZSTD_e_end), for the tests that play QEMU (the fuzz project's
    // ZstdStreamPacketCompressor); and one decompression stream per receiving channel, which decodes both. ZstdNet's
    // streams allocate per call, so these are imported directly.

    /// <summary>ZSTD_EndDirective.</summary>
    internal const int ZSTD_e_continue = 0;

    /// <summary>ZSTD_EndDirective: flush what is buffered into whole blocks, keep the frame open.</summary>
    internal const int ZSTD_e_flush = 1;

    /// <summary>ZSTD_cParameter ZSTD_c_compressionLevel.</summary>
    internal const int ZSTD_c_compressionLevel = 100;

    /// <summary>ZSTD_dParameter ZSTD_d_windowLogMax: the largest window a frame may ask the decoder for (log2 bytes).</summary>
    internal const int ZSTD_d_windowLogMax = 100;

    /// <summary>ZSTD_inBuffer, field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct ZstdInBuffer
    {
        public byte* src;
        public nuint size;
        public nuint pos;
    }

    /// <summary>ZSTD_outBuffer, field for field.</summary>
    [StructLayout(LayoutKind.Sequential)]
    internal unsafe struct ZstdOutBuffer
    {
        public byte* dst;
        public nuint size;
        public nuint pos;
    }

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial nint ZSTD_createCCtx();

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial nuint ZSTD_freeCCtx(nint cctx);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial nuint ZSTD_CCtx_setParameter(nint cctx, int param, int value);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static unsafe partial nuint ZSTD_compress2(nint cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static unsafe partial nuint ZSTD_compressStream2(nint cctx, ZstdOutBuffer* output, ZstdInBuffer* input, int endOp);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial nint ZSTD_createDCtx();

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial nuint ZSTD_freeDCtx(nint dctx);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static partial nuint ZSTD_DCtx_setParameter(nint dctx, int param, int value);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static unsafe partial nuint ZSTD_decompressStream(nint dctx, ZstdOutBuffer* output, ZstdInBuffer* input);

    [LibraryImport(NativeLibraries.ZstdLibraryName)]
    internal static unsafe partial byte* ZSTD_getErrorName(nuint code);
}
