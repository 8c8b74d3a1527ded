using Engine.Codecs;

namespace Engine.Wire;

/// <summary>
/// Decodes compressed page records on the calling thread, each into exactly one page, with one decompressor per method made
/// on first use (for the tools that re-encode a stream page by page: the transcoder, a relay's multifd output).
/// </summary>
internal sealed class PagePayloadDecoder : IDisposable
{
    private readonly IPageDecompressor?[] _decompressors = new IPageDecompressor?[3];
    private readonly Func<CompressMethod, IPageDecompressor> _factory;

    /// <summary>Decoders made by <paramref name="factory"/> (null: <see cref="PageCodecs.CreateDecompressor"/>'s).</summary>
    public PagePayloadDecoder(Func<CompressMethod, IPageDecompressor>? factory = null)
        => _factory = factory ?? (static m => PageCodecs.CreateDecompressor(m));

    /// <summary>
    /// Decodes <paramref name="payload"/>, of <paramref name="method"/>, into <paramref name="page"/>; a payload that does not
    /// decode to exactly one page throws <see cref="MigrationStreamException"/> at <paramref name="streamOffset"/>, naming
    /// the page (block <paramref name="blockName"/>, <paramref name="offset"/>).
    /// </summary>
    public void Decode(CompressMethod method, ReadOnlySpan<byte> payload, Span<byte> page, string blockName, long offset, long streamOffset)
    {
        IPageDecompressor decompressor = _decompressors[(int)method] ??= _factory(method);
        DecompressStatus status = decompressor.Decompress(payload, page);
        if (status != DecompressStatus.Ok)
        {
            throw new MigrationStreamException(
                streamOffset,
                $"expected a {CompressionSettings.NameOf(method)} payload that decompresses to exactly one 4096-byte page "
                + $"(block '{blockName}', offset 0x{offset:X}), found: {status}");
        }
    }

    /// <summary>Disposes every decompressor made.</summary>
    public void Dispose()
    {
        foreach (IPageDecompressor? decompressor in _decompressors)
        {
            decompressor?.Dispose();
        }
    }
}
