namespace Engine.Codecs;

/// <summary>
/// A decompressor that tells zlib from zstd by the payload (<see cref="PayloadFormat"/>) and hands it to a decompressor
/// of that method from <c>factory</c>, created on first use and kept: for callers that supply decoders per method.
/// </summary>
internal sealed class MethodDispatchDecoder(Func<CompressMethod, IPageDecompressor> factory) : IPageDecompressor
{
    private IPageDecompressor? _zlib;
    private IPageDecompressor? _zstd;

    public CompressMethod Method => CompressMethod.None;

    public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> destination)
    {
        if (!PayloadFormat.TryDetect(payload, out CompressMethod method))
        {
            return DecompressStatus.UnknownFormat;
        }

        IPageDecompressor decoder = method == CompressMethod.Zstd
            ? _zstd ??= factory(CompressMethod.Zstd)
            : _zlib ??= factory(CompressMethod.Zlib);
        return decoder.Decompress(payload, destination);
    }

    public void Dispose()
    {
        try
        {
            _zlib?.Dispose();
        }
        finally
        {
            _zstd?.Dispose();
        }
    }
}
