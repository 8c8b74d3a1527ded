using Engine.Codecs;

namespace Engine.Wire;

/// <summary>
/// Tells a compressed page's method by its first bytes: a zlib header (RFC 1950: deflate, window at most 32 KiB, header
/// checksum, no preset dictionary) or the zstd frame magic <c>28 B5 2F FD</c>. Nothing on the wire names the method, so
/// this is how a destination keeps a method mismatch from corrupting memory.
/// </summary>
public static class PayloadFormat
{
    /// <summary>The zstd frame magic, little-endian as it appears on the wire.</summary>
    public const uint ZstdMagic = 0xFD2FB528;

    /// <summary>The method of <paramref name="payload"/>, or <see cref="CompressMethod.None"/> when it is neither.</summary>
    public static CompressMethod Detect(ReadOnlySpan<byte> payload)
    {
        if (payload.Length >= 4 && payload[0] == 0x28 && payload[1] == 0xB5 && payload[2] == 0x2F && payload[3] == 0xFD)
        {
            return CompressMethod.Zstd;
        }

        if (payload.Length >= 2)
        {
            int cmf = payload[0];
            int flg = payload[1];
            bool deflate = (cmf & 0x0F) == 8 && (cmf >> 4) <= 7;
            bool checksum = ((cmf << 8) | flg) % 31 == 0;
            bool noDictionary = (flg & 0x20) == 0;
            if (deflate && checksum && noDictionary)
            {
                return CompressMethod.Zlib;
            }
        }

        return CompressMethod.None;
    }
}
