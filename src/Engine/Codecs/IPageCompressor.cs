namespace Engine.Codecs;

/// <summary>
/// Compresses one 4 KiB page into one self-contained payload (a zlib stream or a zstd frame).
/// An instance owns its native context; it is used by one thread at a time, created once and reset per page.
/// </summary>
public interface IPageCompressor : IDisposable
{
    /// <summary>The method this compressor writes.</summary>
    CompressMethod Method { get; }

    /// <summary>The level it compresses at.</summary>
    int Level { get; }

    /// <summary>The largest payload it can write for one page; a destination of this size never overflows.</summary>
    int MaxCompressedLength { get; }

    /// <summary>
    /// Compresses exactly one page (<paramref name="page"/> is 4096 bytes). Returns <see cref="CompressResult.Compressed"/>
    /// with the payload length in <paramref name="written"/> only when the payload is smaller than the page. Never throws for
    /// any page content; allocates nothing.
    /// </summary>
    CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written);
}
