namespace Engine.Codecs;

/// <summary>The compressor of <c>compress-method none</c>: every page goes out raw.</summary>
internal sealed class NonePageCompressor : IPageCompressor
{
    /// <inheritdoc />
    public CompressMethod Method => CompressMethod.None;

    /// <inheritdoc />
    public int Level => 0;

    /// <inheritdoc />
    public int MaxCompressedLength => 0;

    /// <inheritdoc />
    public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
    {
        PageArguments.ThrowIfNotPage(page);
        written = 0;
        return CompressResult.SendRaw;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Nothing to release.
    }
}
