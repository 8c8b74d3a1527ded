using Engine.Memory;

namespace Engine.Codecs;

/// <summary>Creates page compressors and decompressors for a method.</summary>
public static class PageCodecs
{
    /// <summary>A compressor for <paramref name="settings"/>; one per worker thread.</summary>
    public static IPageCompressor CreateCompressor(CompressionSettings settings, ZlibImplementation zlib = ZlibImplementation.Native)
    {
        ThrowIfUnknown(zlib);
        return settings.Method switch
        {
            CompressMethod.None => new NonePageCompressor(),
            CompressMethod.Zlib when zlib == ZlibImplementation.Native => new ZlibPageCompressor(settings.Level),
            CompressMethod.Zlib => new SharpZipLibPageCompressor(settings.Level),
            CompressMethod.Zstd => new ZstdPageCompressor(settings.Level),
            _ => throw UnknownMethod(settings.Method),
        };
    }

    /// <summary>
    /// A decompressor of exactly one method; one per worker thread. It reports a payload of the other method as
    /// <see cref="DecompressStatus.WrongMethod"/>. <see cref="CompressMethod.None"/> has no compressed payloads and is rejected:
    /// use <see cref="CreateDecoder"/> to accept whatever arrives.
    /// </summary>
    public static IPageDecompressor CreateDecompressor(CompressMethod method, ZlibImplementation zlib = ZlibImplementation.Native)
    {
        ThrowIfUnknown(zlib);
        return method switch
        {
            CompressMethod.Zlib when zlib == ZlibImplementation.Native => new ZlibPageDecompressor(),
            CompressMethod.Zlib => new SharpZipLibPageDecompressor(),
            CompressMethod.Zstd => new ZstdPageDecompressor(),
            CompressMethod.None => throw new ArgumentException(
                "compress-method none has no compressed pages to decompress; use PageCodecs.CreateDecoder to accept any method.",
                nameof(method)),
            _ => throw UnknownMethod(method),
        };
    }

    /// <summary>
    /// The destination's decoder: detects zlib or zstd per payload; with <paramref name="strict"/>, rejects payloads of any
    /// method other than <paramref name="configured"/>.
    /// </summary>
    public static IPageDecompressor CreateDecoder(CompressMethod configured, bool strict, ZlibImplementation zlib = ZlibImplementation.Native)
        => new PageDecoder(configured, strict, zlib);

    /// <summary>The guest page size every codec works on: 4 KiB.</summary>
    public const int PageSize = PageSizes.PageSize;

    /// <summary>The largest compressed payload of one page of any method: an output buffer of this size never overflows.</summary>
    public const int MaxCompressedPage = PageSizes.MaxCompressedPage;

    /// <summary>
    /// Whether <paramref name="page"/> is all zero bytes: such a page travels as a ZERO record, not compressed (vectorised,
    /// stops at the first non-zero byte).
    /// </summary>
    public static bool IsZeroPage(ReadOnlySpan<byte> page) => Engine.Memory.ZeroPage.IsZero(page);

    internal static void ThrowIfUnknown(CompressMethod method)
    {
        if (method is not (CompressMethod.None or CompressMethod.Zlib or CompressMethod.Zstd))
        {
            throw UnknownMethod(method);
        }
    }

    private static void ThrowIfUnknown(ZlibImplementation zlib)
    {
        if (zlib is not (ZlibImplementation.Native or ZlibImplementation.SharpZipLib))
        {
            throw new ArgumentOutOfRangeException(nameof(zlib), zlib, "unknown zlib implementation; known: Native, SharpZipLib");
        }
    }

    private static EngineParameterException UnknownMethod(CompressMethod method)
    {
        // The same words as CompressionSettings.TryValidate, which owns the message.
        _ = CompressionSettings.TryValidate(method, CompressionSettings.DefaultLevel, out string? error);
        return new EngineParameterException("compress-method", error ?? $"compress-method {(int)method} is unknown");
    }
}
