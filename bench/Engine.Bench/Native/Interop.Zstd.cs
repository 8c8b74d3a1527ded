using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Bench;

internal static partial class Interop
{
    /// <summary>
    /// libzstd, called directly (not through Engine or ZstdNet), for the interop-overhead experiments only: it resolves to the
    /// very libzstd ZstdNet loads (see <see cref="ReferenceLibrary"/>).
    /// </summary>
    internal static unsafe partial class Zstd
    {
        internal const string LibraryName = "libzstd";

        [LibraryImport(LibraryName)]
        internal static partial nint ZSTD_createCCtx();

        [LibraryImport(LibraryName)]
        internal static partial nuint ZSTD_freeCCtx(nint cctx);

        [LibraryImport(LibraryName)]
        internal static partial nint ZSTD_createDCtx();

        [LibraryImport(LibraryName)]
        internal static partial nuint ZSTD_freeDCtx(nint dctx);

        [LibraryImport(LibraryName)]
        internal static partial nuint ZSTD_compressCCtx(nint cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int compressionLevel);

        [LibraryImport(LibraryName)]
        internal static partial nuint ZSTD_decompressDCtx(nint dctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

        [LibraryImport(LibraryName)]
        internal static partial uint ZSTD_isError(nuint code);

        [LibraryImport(LibraryName)]
        internal static partial ulong ZSTD_getFrameContentSize(byte* src, nuint srcSize);

        [LibraryImport(LibraryName)]
        internal static partial nuint ZSTD_findFrameCompressedSize(byte* src, nuint srcSize);

        // Legitimate uses of SuppressGCTransition: both only parse frame and block headers (a page frame has one or two
        // blocks), take well under a microsecond, never block and never call back into the runtime.
        [LibraryImport(LibraryName, EntryPoint = "ZSTD_getFrameContentSize")]
        [SuppressGCTransition]
        internal static partial ulong ZSTD_getFrameContentSize_NoTransition(byte* src, nuint srcSize);

        [LibraryImport(LibraryName, EntryPoint = "ZSTD_findFrameCompressedSize")]
        [SuppressGCTransition]
        internal static partial nuint ZSTD_findFrameCompressedSize_NoTransition(byte* src, nuint srcSize);

        // Experiment only: SuppressGCTransition is legitimate for calls that finish in well under a microsecond and never
        // block; compressing a page takes microseconds (milliseconds at level 19), during which a GC could not suspend
        // this thread. It is measured to size the transition's cost, not recommended for the codec path.
        [LibraryImport(LibraryName, EntryPoint = "ZSTD_compressCCtx")]
        [SuppressGCTransition]
        internal static partial nuint ZSTD_compressCCtx_NoTransition(nint cctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize, int compressionLevel);

        [LibraryImport(LibraryName, EntryPoint = "ZSTD_decompressDCtx")]
        [SuppressGCTransition]
        internal static partial nuint ZSTD_decompressDCtx_NoTransition(nint dctx, byte* dst, nuint dstCapacity, byte* src, nuint srcSize);

        /// <summary>
        /// ZSTD_isError without a P/Invoke: libzstd's error codes are the last ZSTD_error_maxCode values of size_t
        /// (ERR_isError: code > (size_t)-ZSTD_error_maxCode), a stable part of its ABI.
        /// </summary>
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        internal static bool IsError(nuint code) => code > unchecked((nuint)(-ZSTD_error_maxCode));

        private const int ZSTD_error_maxCode = 120;
    }
}
