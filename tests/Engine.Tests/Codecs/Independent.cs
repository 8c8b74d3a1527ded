using System.IO.Compression;

namespace Engine.Tests.Codecs;

/// <summary>Independent implementations to cross-check against: .NET's ZLibStream (zlib) and ZstdSharp (zstd, managed port).</summary>
internal static class Independent
{
    public static byte[] ZlibCompress(ReadOnlySpan<byte> data, CompressionLevel level = CompressionLevel.Optimal)
    {
        if (data.IsEmpty)
        {
            // ZLibStream writes nothing at all for no input; this is the stream zlib itself writes (header, empty fixed
            // block, Adler-32 of nothing = 1).
            return [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01];
        }

        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, level, leaveOpen: true))
        {
            zlib.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] ZlibDecompress(ReadOnlySpan<byte> payload)
    {
        using var input = new MemoryStream(payload.ToArray());
        using var zlib = new ZLibStream(input, CompressionMode.Decompress);
        using var output = new MemoryStream();
        zlib.CopyTo(output);
        return output.ToArray();
    }

    /// <summary>One frame with its content size, as <c>ZSTD_compress2</c> writes it.</summary>
    public static byte[] ZstdCompress(ReadOnlySpan<byte> data, int level = 3)
    {
        using var compressor = new ZstdSharp.Compressor(level);
        return compressor.Wrap(data).ToArray();
    }

    /// <summary>One frame written through the streaming API, which does not know the size up front: no content size field.</summary>
    public static byte[] ZstdCompressWithoutContentSize(ReadOnlySpan<byte> data, int level = 3)
    {
        using var output = new MemoryStream();
        using (var zstd = new ZstdSharp.CompressionStream(output, level, leaveOpen: true))
        {
            zstd.Write(data);
        }

        return output.ToArray();
    }

    public static byte[] ZstdDecompress(ReadOnlySpan<byte> payload)
    {
        using var decompressor = new ZstdSharp.Decompressor();
        return decompressor.Unwrap(payload).ToArray();
    }

    /// <summary>A payload of <paramref name="method"/> for <paramref name="data"/> of any length, by an independent implementation.</summary>
    public static byte[] Compress(Engine.Codecs.CompressMethod method, ReadOnlySpan<byte> data) => method switch
    {
        Engine.Codecs.CompressMethod.Zlib => ZlibCompress(data),
        Engine.Codecs.CompressMethod.Zstd => ZstdCompress(data),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };
}
