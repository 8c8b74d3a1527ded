using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Tells a zlib payload from a zstd payload by its first bytes, so a method mismatch between the two ends of a migration is
/// reported instead of decoded as garbage.
/// </summary>
internal static class PayloadFormat
{
    /// <summary>The zstd frame magic number, <c>28 B5 2F FD</c> on the wire (0xFD2FB528 little-endian).</summary>
    public const uint ZstdMagicNumber = 0xFD2FB528;

    /// <summary>zlib's CM (compression method) for deflate, the low nibble of the CMF byte.</summary>
    public const int ZlibMethodDeflate = 8;

    /// <summary>The largest CINFO (log2 of the window size minus 8): 7, a 32 KiB window.</summary>
    public const int ZlibMaxWindowInfo = 7;

    /// <summary>The FDICT bit of the FLG byte: a preset dictionary follows the header (never in a page payload).</summary>
    public const int ZlibPresetDictionaryFlag = 0x20;

    /// <summary>The two header bytes, read big-endian, are a multiple of this (RFC 1950 FCHECK).</summary>
    public const int ZlibHeaderCheckDivisor = 31;

    /// <summary>
    /// True when <paramref name="payload"/> starts with a zlib header a page stream can have: CM 8 (deflate), CINFO at most 7,
    /// valid check bits, and no preset dictionary.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsZlibHeader(ReadOnlySpan<byte> payload)
    {
        if (payload.Length < 2)
        {
            return false;
        }

        int cmf = payload[0];
        int flg = payload[1];
        return (cmf & 0x0F) == ZlibMethodDeflate
            && (cmf >> 4) <= ZlibMaxWindowInfo
            && ((cmf << 8) | flg) % ZlibHeaderCheckDivisor == 0
            && (flg & ZlibPresetDictionaryFlag) == 0;
    }

    /// <summary>True when <paramref name="payload"/> starts with the zstd frame magic <c>28 B5 2F FD</c>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsZstdFrame(ReadOnlySpan<byte> payload)
        => payload.Length >= sizeof(uint) && BinaryPrimitives.ReadUInt32LittleEndian(payload) == ZstdMagicNumber;

    /// <summary>
    /// The method <paramref name="payload"/> is written in, by its first bytes; false when it is neither a zlib stream nor a
    /// zstd frame. Says nothing about whether the rest of the payload is valid.
    /// </summary>
    public static bool TryDetect(ReadOnlySpan<byte> payload, out CompressMethod method)
    {
        if (IsZstdFrame(payload))
        {
            method = CompressMethod.Zstd;
            return true;
        }

        if (IsZlibHeader(payload))
        {
            method = CompressMethod.Zlib;
            return true;
        }

        method = CompressMethod.None;
        return false;
    }

    /// <summary>
    /// The checks every decompressor of <paramref name="method"/> makes before it decodes: page space, empty, format,
    /// method, bound. <see cref="DecompressStatus.Ok"/> means "go ahead".
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static DecompressStatus CheckBeforeDecode(CompressMethod method, ReadOnlySpan<byte> payload, int pageLength)
    {
        if (pageLength < PageSizes.PageSize)
        {
            return DecompressStatus.DestinationTooSmall;
        }

        if (payload.IsEmpty)
        {
            return DecompressStatus.Empty;
        }

        if (!TryDetect(payload, out CompressMethod detected))
        {
            return DecompressStatus.UnknownFormat;
        }

        if (detected != method)
        {
            return DecompressStatus.WrongMethod;
        }

        return payload.Length > PayloadFormat.BoundOf(method) ? DecompressStatus.TooLong : DecompressStatus.Ok;
    }

    /// <summary>The bound of a method's compressed payload for one page.</summary>
    public static int BoundOf(CompressMethod method) => method switch
    {
        CompressMethod.Zlib => PageSizes.ZlibBound,
        CompressMethod.Zstd => PageSizes.ZstdBound,
        _ => PageSizes.PageSize,
    };
}
