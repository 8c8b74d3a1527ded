/*
 * libenginebench: the C reference loops (see enginebench.h for the conventions).
 * The loops are deliberately plain: what a C programmer would write against the library's public API, with
 * the context created once, so the C# / C ratio measures the C# path's overhead and nothing else.
 */
#define _GNU_SOURCE
#include "enginebench.h"

#include <dlfcn.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <immintrin.h>
#include <zlib.h>

#define EB_ABI_VERSION 3

/* compressBound(4096) and ZSTD_compressBound(4096): the output buffer a worker owns. */
#define EB_ZLIB_BOUND 4110
#define EB_ZSTD_BOUND 4174

int32_t eb_abi_version(void)
{
    return EB_ABI_VERSION;
}

/* ---- libzstd: the prototypes we call (no zstd.h on the build machine), resolved from a handle ---------- */

typedef struct ZSTD_CCtx_s ZSTD_CCtx;
typedef struct ZSTD_DCtx_s ZSTD_DCtx;

typedef ZSTD_CCtx *(*zstd_create_cctx_fn)(void);
typedef size_t (*zstd_free_cctx_fn)(ZSTD_CCtx *);
typedef ZSTD_DCtx *(*zstd_create_dctx_fn)(void);
typedef size_t (*zstd_free_dctx_fn)(ZSTD_DCtx *);
typedef size_t (*zstd_compress_cctx_fn)(ZSTD_CCtx *, void *, size_t, const void *, size_t, int);
typedef size_t (*zstd_decompress_dctx_fn)(ZSTD_DCtx *, void *, size_t, const void *, size_t);
typedef unsigned (*zstd_is_error_fn)(size_t);
typedef unsigned (*zstd_version_number_fn)(void);
typedef size_t (*zstd_find_frame_compressed_size_fn)(const void *, size_t);
typedef unsigned long long (*zstd_get_frame_content_size_fn)(const void *, size_t);

#define EB_ZSTD_CONTENTSIZE_UNKNOWN (0ULL - 1)
#define EB_ZSTD_CONTENTSIZE_ERROR (0ULL - 2)

static struct
{
    zstd_create_cctx_fn create_cctx;
    zstd_free_cctx_fn free_cctx;
    zstd_create_dctx_fn create_dctx;
    zstd_free_dctx_fn free_dctx;
    zstd_compress_cctx_fn compress_cctx;
    zstd_decompress_dctx_fn decompress_dctx;
    zstd_is_error_fn is_error;
    zstd_version_number_fn version_number;
    zstd_find_frame_compressed_size_fn find_frame_compressed_size;
    zstd_get_frame_content_size_fn get_frame_content_size;
} s_zstd;

static const char *s_zstd_missing = "";

static void *eb_dlsym(void *handle, const char *name, int *ok)
{
    void *p = dlsym(handle, name);
    if (p == NULL && *ok)
    {
        s_zstd_missing = name;
        *ok = 0;
    }
    return p;
}

int32_t eb_zstd_bind(void *libzstd_handle)
{
    if (libzstd_handle == NULL)
    {
        s_zstd_missing = "(null handle)";
        return EB_E_NOT_BOUND;
    }

    int ok = 1;
    s_zstd.create_cctx = (zstd_create_cctx_fn)eb_dlsym(libzstd_handle, "ZSTD_createCCtx", &ok);
    s_zstd.free_cctx = (zstd_free_cctx_fn)eb_dlsym(libzstd_handle, "ZSTD_freeCCtx", &ok);
    s_zstd.create_dctx = (zstd_create_dctx_fn)eb_dlsym(libzstd_handle, "ZSTD_createDCtx", &ok);
    s_zstd.free_dctx = (zstd_free_dctx_fn)eb_dlsym(libzstd_handle, "ZSTD_freeDCtx", &ok);
    s_zstd.compress_cctx = (zstd_compress_cctx_fn)eb_dlsym(libzstd_handle, "ZSTD_compressCCtx", &ok);
    s_zstd.decompress_dctx = (zstd_decompress_dctx_fn)eb_dlsym(libzstd_handle, "ZSTD_decompressDCtx", &ok);
    s_zstd.is_error = (zstd_is_error_fn)eb_dlsym(libzstd_handle, "ZSTD_isError", &ok);
    s_zstd.version_number = (zstd_version_number_fn)eb_dlsym(libzstd_handle, "ZSTD_versionNumber", &ok);
    s_zstd.find_frame_compressed_size =
        (zstd_find_frame_compressed_size_fn)eb_dlsym(libzstd_handle, "ZSTD_findFrameCompressedSize", &ok);
    s_zstd.get_frame_content_size =
        (zstd_get_frame_content_size_fn)eb_dlsym(libzstd_handle, "ZSTD_getFrameContentSize", &ok);
    if (!ok)
    {
        memset(&s_zstd, 0, sizeof(s_zstd));
        return EB_E_NOT_BOUND;
    }

    return 0;
}

const char *eb_zstd_missing_symbol(void)
{
    return s_zstd_missing;
}

uint32_t eb_zstd_version_number(void)
{
    return s_zstd.version_number != NULL ? s_zstd.version_number() : 0;
}

void *eb_zstd_compress_function(void)
{
    return (void *)s_zstd.compress_cctx;
}

int32_t eb_library_path_of(const void *address, char *buf, int32_t capacity)
{
    Dl_info info;
    if (address == NULL || buf == NULL || capacity <= 0 || dladdr(address, &info) == 0 || info.dli_fname == NULL)
    {
        return -1;
    }

    size_t length = strlen(info.dli_fname);
    if (length >= (size_t)capacity)
    {
        return -1;
    }

    memcpy(buf, info.dli_fname, length + 1);
    return (int32_t)length;
}

void *eb_zstd_cctx_create(void)
{
    return s_zstd.create_cctx != NULL ? (void *)s_zstd.create_cctx() : NULL;
}

void eb_zstd_cctx_free(void *cctx)
{
    if (cctx != NULL && s_zstd.free_cctx != NULL)
    {
        s_zstd.free_cctx((ZSTD_CCtx *)cctx);
    }
}

void *eb_zstd_dctx_create(void)
{
    return s_zstd.create_dctx != NULL ? (void *)s_zstd.create_dctx() : NULL;
}

void eb_zstd_dctx_free(void *dctx)
{
    if (dctx != NULL && s_zstd.free_dctx != NULL)
    {
        s_zstd.free_dctx((ZSTD_DCtx *)dctx);
    }
}

int64_t eb_zstd_compress_pages(void *cctx, const uint8_t *pages, int32_t count, int32_t level,
                               uint8_t *out, int64_t out_stride, int32_t *sizes)
{
    if (s_zstd.compress_cctx == NULL)
    {
        return EB_E_NOT_BOUND;
    }
    if (cctx == NULL || count < 0)
    {
        return EB_E_ARGUMENT;
    }

    int64_t wire = 0;
    for (int32_t i = 0; i < count; i++)
    {
        uint8_t *dst = out + (int64_t)i * out_stride;
        size_t n = s_zstd.compress_cctx((ZSTD_CCtx *)cctx, dst, EB_ZSTD_BOUND,
                                        pages + (int64_t)i * EB_PAGE_SIZE, EB_PAGE_SIZE, level);
        if (s_zstd.is_error(n))
        {
            return EB_E_CODEC;
        }
        if (sizes != NULL)
        {
            sizes[i] = (int32_t)n;
        }
        wire += n < EB_PAGE_SIZE ? (int64_t)n : EB_PAGE_SIZE;
    }

    return wire;
}

int64_t eb_zstd_decompress_pages(void *dctx, const uint8_t *payloads, int64_t payload_stride,
                                 const int32_t *sizes, int32_t count, uint8_t *pages, int64_t page_stride)
{
    if (s_zstd.decompress_dctx == NULL)
    {
        return EB_E_NOT_BOUND;
    }
    if (dctx == NULL || count < 0)
    {
        return EB_E_ARGUMENT;
    }

    int64_t total = 0;
    for (int32_t i = 0; i < count; i++)
    {
        size_t n = s_zstd.decompress_dctx((ZSTD_DCtx *)dctx, pages + (int64_t)i * page_stride, EB_PAGE_SIZE,
                                          payloads + (int64_t)i * payload_stride, (size_t)sizes[i]);
        if (s_zstd.is_error(n))
        {
            return EB_E_CODEC;
        }
        if (n != EB_PAGE_SIZE)
        {
            return EB_E_WRONG_SIZE;
        }
        total += (int64_t)n;
    }

    return total;
}

int64_t eb_zstd_decompress_pages_checked(void *dctx, const uint8_t *payloads, int64_t payload_stride,
                                         const int32_t *sizes, int32_t count, uint8_t *pages, int64_t page_stride)
{
    if (s_zstd.decompress_dctx == NULL)
    {
        return EB_E_NOT_BOUND;
    }
    if (dctx == NULL || count < 0)
    {
        return EB_E_ARGUMENT;
    }

    int64_t total = 0;
    for (int32_t i = 0; i < count; i++)
    {
        const uint8_t *payload = payloads + (int64_t)i * payload_stride;
        size_t size = (size_t)sizes[i];

        /* The frame must be exactly the payload, and may not declare a size other than one page. */
        unsigned long long content = s_zstd.get_frame_content_size(payload, size);
        if (s_zstd.find_frame_compressed_size(payload, size) != size || content == EB_ZSTD_CONTENTSIZE_ERROR)
        {
            return EB_E_CODEC;
        }
        if (content != EB_ZSTD_CONTENTSIZE_UNKNOWN && content != EB_PAGE_SIZE)
        {
            return EB_E_WRONG_SIZE;
        }

        size_t n = s_zstd.decompress_dctx((ZSTD_DCtx *)dctx, pages + (int64_t)i * page_stride, EB_PAGE_SIZE, payload, size);
        if (s_zstd.is_error(n))
        {
            return EB_E_CODEC;
        }
        if (n != EB_PAGE_SIZE)
        {
            return EB_E_WRONG_SIZE;
        }
        total += (int64_t)n;
    }

    return total;
}

/* ---- zlib ------------------------------------------------------------------------------------------- */

const char *eb_zlib_version(void)
{
    return zlibVersion();
}

void *eb_zlib_deflate_create(int32_t level)
{
    z_stream *s = calloc(1, sizeof(z_stream));
    if (s == NULL)
    {
        return NULL;
    }
    /* QEMU's parameters: a zlib (not raw, not gzip) stream, 32 KiB window, default memory level. */
    if (deflateInit2(s, level, Z_DEFLATED, MAX_WBITS, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    {
        free(s);
        return NULL;
    }
    return s;
}

void eb_zlib_deflate_free(void *stream)
{
    if (stream != NULL)
    {
        deflateEnd((z_stream *)stream);
        free(stream);
    }
}

void *eb_zlib_inflate_create(void)
{
    z_stream *s = calloc(1, sizeof(z_stream));
    if (s == NULL)
    {
        return NULL;
    }
    if (inflateInit2(s, MAX_WBITS) != Z_OK)
    {
        free(s);
        return NULL;
    }
    return s;
}

void eb_zlib_inflate_free(void *stream)
{
    if (stream != NULL)
    {
        inflateEnd((z_stream *)stream);
        free(stream);
    }
}

int64_t eb_zlib_compress_pages(void *stream, const uint8_t *pages, int32_t count,
                               uint8_t *out, int64_t out_stride, int32_t *sizes)
{
    z_stream *s = (z_stream *)stream;
    if (s == NULL || count < 0)
    {
        return EB_E_ARGUMENT;
    }

    int64_t wire = 0;
    for (int32_t i = 0; i < count; i++)
    {
        if (deflateReset(s) != Z_OK)
        {
            return EB_E_CODEC;
        }
        s->next_in = (Bytef *)(pages + (int64_t)i * EB_PAGE_SIZE);
        s->avail_in = EB_PAGE_SIZE;
        s->next_out = out + (int64_t)i * out_stride;
        s->avail_out = EB_ZLIB_BOUND;
        if (deflate(s, Z_FINISH) != Z_STREAM_END)
        {
            return EB_E_CODEC;
        }
        int64_t n = (int64_t)(EB_ZLIB_BOUND - s->avail_out);
        if (sizes != NULL)
        {
            sizes[i] = (int32_t)n;
        }
        wire += n < EB_PAGE_SIZE ? n : EB_PAGE_SIZE;
    }

    return wire;
}

int64_t eb_zlib_decompress_pages(void *stream, const uint8_t *payloads, int64_t payload_stride,
                                 const int32_t *sizes, int32_t count, uint8_t *pages, int64_t page_stride)
{
    z_stream *s = (z_stream *)stream;
    if (s == NULL || count < 0)
    {
        return EB_E_ARGUMENT;
    }

    int64_t total = 0;
    for (int32_t i = 0; i < count; i++)
    {
        if (inflateReset(s) != Z_OK)
        {
            return EB_E_CODEC;
        }
        s->next_in = (Bytef *)(payloads + (int64_t)i * payload_stride);
        s->avail_in = (uInt)sizes[i];
        s->next_out = pages + (int64_t)i * page_stride;
        s->avail_out = EB_PAGE_SIZE;
        int rc = inflate(s, Z_FINISH);
        if (rc != Z_STREAM_END)
        {
            return rc == Z_BUF_ERROR ? EB_E_WRONG_SIZE : EB_E_CODEC;
        }
        if (s->avail_out != 0)
        {
            return EB_E_WRONG_SIZE;
        }
        total += EB_PAGE_SIZE;
    }

    return total;
}

/* ---- zero-page check -------------------------------------------------------------------------------- */

/*
 * The loop written as QEMU's buffer_is_zero writes it: an AVX2 variant picked at run time (the C# check is
 * JIT-compiled for the CPU it runs on, so the C side gets the same ISA without -march=native) and an SSE2
 * fallback for the x86-64 baseline. Each step ORs 128 bytes and branches once, the shape of ZeroPage.IsZero.
 */
__attribute__((target("avx2"))) static int eb_is_zero_avx2(const uint8_t *page)
{
    for (size_t offset = 0; offset < EB_PAGE_SIZE; offset += 128)
    {
        const __m256i *v = (const __m256i *)(page + offset);
        __m256i acc = _mm256_or_si256(_mm256_or_si256(_mm256_loadu_si256(v), _mm256_loadu_si256(v + 1)),
                                      _mm256_or_si256(_mm256_loadu_si256(v + 2), _mm256_loadu_si256(v + 3)));
        if (!_mm256_testz_si256(acc, acc))
        {
            return 0;
        }
    }
    return 1;
}

static int eb_is_zero_sse2(const uint8_t *page)
{
    const __m128i zero = _mm_setzero_si128();
    for (size_t offset = 0; offset < EB_PAGE_SIZE; offset += 128)
    {
        const __m128i *v = (const __m128i *)(page + offset);
        __m128i acc = _mm_or_si128(_mm_or_si128(_mm_or_si128(_mm_loadu_si128(v), _mm_loadu_si128(v + 1)),
                                                _mm_or_si128(_mm_loadu_si128(v + 2), _mm_loadu_si128(v + 3))),
                                   _mm_or_si128(_mm_or_si128(_mm_loadu_si128(v + 4), _mm_loadu_si128(v + 5)),
                                                _mm_or_si128(_mm_loadu_si128(v + 6), _mm_loadu_si128(v + 7))));
        if (_mm_movemask_epi8(_mm_cmpeq_epi8(acc, zero)) != 0xFFFF)
        {
            return 0;
        }
    }
    return 1;
}

__attribute__((target("avx2"))) static int32_t eb_zero_pages_avx2(const uint8_t *pages, int32_t count)
{
    int32_t zero = 0;
    for (int32_t i = 0; i < count; i++)
    {
        zero += eb_is_zero_avx2(pages + (int64_t)i * EB_PAGE_SIZE);
    }
    return zero;
}

static int32_t eb_zero_pages_sse2(const uint8_t *pages, int32_t count)
{
    int32_t zero = 0;
    for (int32_t i = 0; i < count; i++)
    {
        zero += eb_is_zero_sse2(pages + (int64_t)i * EB_PAGE_SIZE);
    }
    return zero;
}

int32_t eb_zero_pages(const uint8_t *pages, int32_t count, int32_t rounds)
{
    __builtin_cpu_init();
    int avx2 = __builtin_cpu_supports("avx2");
    int32_t zero = 0;
    for (int32_t r = 0; r < rounds; r++)
    {
        zero += avx2 ? eb_zero_pages_avx2(pages, count) : eb_zero_pages_sse2(pages, count);
    }
    return zero;
}

const char *eb_zero_pages_variant(void)
{
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") ? "avx2" : "sse2";
}
