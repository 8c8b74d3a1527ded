using System.Runtime.InteropServices;

namespace Engine.Bench;

internal static partial class Interop
{
    /// <summary>
    /// libenginebench (native/enginebench.h): the C reference loops. Every loop runs over a whole batch of pages, so one
    /// P/Invoke transition is spread over hundreds of pages and the C rows carry no interop cost worth measuring.
    /// </summary>
    internal static unsafe partial class EngineBench
    {
        internal const string LibraryName = "enginebench";

        /// <summary>The ABI version this side was written against (EB_ABI_VERSION).</summary>
        internal const int AbiVersion = 3;

        internal const int EB_E_NOT_BOUND = -1;
        internal const int EB_E_CODEC = -2;
        internal const int EB_E_WRONG_SIZE = -3;
        internal const int EB_E_ARGUMENT = -4;

        [LibraryImport(LibraryName)]
        internal static partial int eb_abi_version();

        [LibraryImport(LibraryName)]
        internal static partial int eb_zstd_bind(nint libzstdHandle);

        [LibraryImport(LibraryName)]
        internal static partial byte* eb_zstd_missing_symbol();

        [LibraryImport(LibraryName)]
        internal static partial uint eb_zstd_version_number();

        [LibraryImport(LibraryName)]
        internal static partial void* eb_zstd_compress_function();

        [LibraryImport(LibraryName)]
        internal static partial int eb_library_path_of(void* address, byte* buf, int capacity);

        [LibraryImport(LibraryName)]
        internal static partial void* eb_zstd_cctx_create();

        [LibraryImport(LibraryName)]
        internal static partial void eb_zstd_cctx_free(void* cctx);

        [LibraryImport(LibraryName)]
        internal static partial void* eb_zstd_dctx_create();

        [LibraryImport(LibraryName)]
        internal static partial void eb_zstd_dctx_free(void* dctx);

        [LibraryImport(LibraryName)]
        internal static partial long eb_zstd_compress_pages(void* cctx, byte* pages, int count, int level, byte* @out, long outStride, int* sizes);

        [LibraryImport(LibraryName)]
        internal static partial long eb_zstd_decompress_pages(void* dctx, byte* payloads, long payloadStride, int* sizes, int count, byte* pages, long pageStride);

        [LibraryImport(LibraryName)]
        internal static partial long eb_zstd_decompress_pages_checked(void* dctx, byte* payloads, long payloadStride, int* sizes, int count, byte* pages, long pageStride);

        [LibraryImport(LibraryName)]
        internal static partial byte* eb_zlib_version();

        [LibraryImport(LibraryName)]
        internal static partial void* eb_zlib_deflate_create(int level);

        [LibraryImport(LibraryName)]
        internal static partial void eb_zlib_deflate_free(void* stream);

        [LibraryImport(LibraryName)]
        internal static partial void* eb_zlib_inflate_create();

        [LibraryImport(LibraryName)]
        internal static partial void eb_zlib_inflate_free(void* stream);

        [LibraryImport(LibraryName)]
        internal static partial long eb_zlib_compress_pages(void* stream, byte* pages, int count, byte* @out, long outStride, int* sizes);

        [LibraryImport(LibraryName)]
        internal static partial long eb_zlib_decompress_pages(void* stream, byte* payloads, long payloadStride, int* sizes, int count, byte* pages, long pageStride);

        [LibraryImport(LibraryName)]
        internal static partial int eb_zero_pages(byte* pages, int count, int rounds);

        [LibraryImport(LibraryName)]
        internal static partial byte* eb_zero_pages_variant();
    }
}
