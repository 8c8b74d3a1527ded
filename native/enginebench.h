/*
 * libenginebench: plain C loops over the same libraries (libzstd, zlib) and the same pages as the C# codec
 * paths, so bench/Engine.Bench can show C# / C ratios measured side by side in one process.
 *
 * Conventions shared by every loop:
 * - pages are EB_PAGE_SIZE bytes each, laid out back to back;
 * - a compress loop writes page i's payload to out + i * out_stride (out_stride 0: one reused buffer of at
 *   least the method's bound, as a compress worker does), stores its size in sizes[i] when sizes is not NULL,
 *   and returns the bytes that would go on the wire: the payload size when it is smaller than the page,
 *   EB_PAGE_SIZE when the page would be sent raw. A negative return is an error (EB_E_*);
 * - a decompress loop reads payload i (sizes[i] bytes) from payloads + i * payload_stride, writes it to
 *   pages + i * page_stride (page_stride 0: one reused page) and returns the bytes decompressed (count *
 *   EB_PAGE_SIZE when every payload decompressed to exactly one page), or a negative EB_E_* code.
 * Contexts are created once and reused, as the C# workers do; none of the loops allocates.
 */
#ifndef ENGINEBENCH_H
#define ENGINEBENCH_H

#include <stdint.h>

#if defined(__GNUC__)
#define EB_API __attribute__((visibility("default")))
#else
#define EB_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define EB_PAGE_SIZE 4096

#define EB_E_NOT_BOUND (-1)   /* eb_zstd_bind was not called (or failed) */
#define EB_E_CODEC (-2)       /* the library reported an error */
#define EB_E_WRONG_SIZE (-3)  /* a payload did not decompress to exactly one page */
#define EB_E_ARGUMENT (-4)    /* NULL context or negative count */

/* The ABI version of this header; the C# side checks it at start-up. */
EB_API int32_t eb_abi_version(void);

/* ---- libzstd ---------------------------------------------------------------------------------------- */

/*
 * Resolves the few libzstd functions the loops call from a library handle (dlopen handle; on Linux the
 * value NativeLibrary.Load returns), so the loops run the very libzstd the C# side loaded. Returns 0, or
 * EB_E_NOT_BOUND naming nothing: eb_zstd_missing_symbol() then names the symbol that was not found.
 */
EB_API int32_t eb_zstd_bind(void *libzstd_handle);
EB_API const char *eb_zstd_missing_symbol(void);
/* ZSTD_versionNumber() of the bound library, or 0 when unbound. */
EB_API uint32_t eb_zstd_version_number(void);
/* The address the loops call for ZSTD_compressCCtx: the C# side compares it with its own. */
EB_API void *eb_zstd_compress_function(void);
/* Writes the file name of the shared object that holds address into buf; returns its length, or -1. */
EB_API int32_t eb_library_path_of(const void *address, char *buf, int32_t capacity);

EB_API void *eb_zstd_cctx_create(void);
EB_API void eb_zstd_cctx_free(void *cctx);
EB_API void *eb_zstd_dctx_create(void);
EB_API void eb_zstd_dctx_free(void *dctx);

/* ZSTD_compressCCtx(cctx, out, bound, page, 4096, level) per page: the call ZstdNet's Compressor.Wrap makes. */
EB_API int64_t eb_zstd_compress_pages(void *cctx, const uint8_t *pages, int32_t count, int32_t level,
                                      uint8_t *out, int64_t out_stride, int32_t *sizes);
/* ZSTD_decompressDCtx(dctx, page, 4096, payload, size) per payload. */
EB_API int64_t eb_zstd_decompress_pages(void *dctx, const uint8_t *payloads, int64_t payload_stride,
                                        const int32_t *sizes, int32_t count, uint8_t *pages, int64_t page_stride);

/*
 * The same, plus the frame checks Engine's ZstdPageDecompressor makes before decoding a payload from the wire:
 * ZSTD_findFrameCompressedSize must equal the payload size, ZSTD_getFrameContentSize must be 4096 or unknown.
 * Comparing both C loops separates the cost of those checks from the cost of calling libzstd from C#.
 */
EB_API int64_t eb_zstd_decompress_pages_checked(void *dctx, const uint8_t *payloads, int64_t payload_stride,
                                                const int32_t *sizes, int32_t count, uint8_t *pages,
                                                int64_t page_stride);

/* ---- zlib ------------------------------------------------------------------------------------------- */

/* zlibVersion() of the linked zlib. */
EB_API const char *eb_zlib_version(void);
/* deflateInit2(level, Z_DEFLATED, 15, 8, Z_DEFAULT_STRATEGY) once; NULL on failure. */
EB_API void *eb_zlib_deflate_create(int32_t level);
EB_API void eb_zlib_deflate_free(void *stream);
/* inflateInit2(15) once; NULL on failure. */
EB_API void *eb_zlib_inflate_create(void);
EB_API void eb_zlib_inflate_free(void *stream);

/* deflateReset + deflate(Z_FINISH) per page into EB_ZLIB_BOUND bytes. */
EB_API int64_t eb_zlib_compress_pages(void *stream, const uint8_t *pages, int32_t count,
                                      uint8_t *out, int64_t out_stride, int32_t *sizes);
/* inflateReset + inflate(Z_FINISH) per payload into one page. */
EB_API int64_t eb_zlib_decompress_pages(void *stream, const uint8_t *payloads, int64_t payload_stride,
                                        const int32_t *sizes, int32_t count, uint8_t *pages, int64_t page_stride);

/* ---- zero-page check -------------------------------------------------------------------------------- */

/* How many of the count pages are all zero, summed over rounds passes over the same pages (rounds > 1 keeps a
 * small, cache-resident set busy long enough to time without a call per pass). */
EB_API int32_t eb_zero_pages(const uint8_t *pages, int32_t count, int32_t rounds);
/* Which variant eb_zero_pages runs on this CPU: "avx2" or "sse2". */
EB_API const char *eb_zero_pages_variant(void);

#ifdef __cplusplus
}
#endif

#endif /* ENGINEBENCH_H */
