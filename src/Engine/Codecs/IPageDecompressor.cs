namespace Engine.Codecs;

/// <summary>
/// Decompresses one payload into exactly one 4 KiB page. An instance owns its native context; it is used by one thread at a
/// time. It never writes past the 4096 bytes of <c>page</c>, never throws for any payload content, and allocates nothing.
/// </summary>
public interface IPageDecompressor : IDisposable
{
    /// <summary>The method this decompressor reads.</summary>
    CompressMethod Method { get; }

    /// <summary>Decompresses <paramref name="payload"/> into the first 4096 bytes of <paramref name="page"/>.</summary>
    DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page);
}
