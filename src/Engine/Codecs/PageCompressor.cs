using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// The base of the compressors that write a payload (zlib, SharpZipLib's zlib, zstd): the level is checked once, when the
/// compressor is made; every page's arguments are checked before it is compressed; a payload that does not shrink the page
/// is reported as <see cref="CompressResult.SendRaw"/>.
/// </summary>
internal abstract class PageCompressor : IPageCompressor
{
    /// <summary>A compressor of <paramref name="method"/> at <paramref name="level"/>; throws <see cref="EngineParameterException"/> for a level the method does not have.</summary>
    protected PageCompressor(CompressMethod method, int level)
    {
        _ = CompressionSettings.Create(method, level);
        Method = method;
        Level = level;
        MaxCompressedLength = PayloadFormat.BoundOf(method);
    }

    /// <inheritdoc />
    public CompressMethod Method { get; }

    /// <inheritdoc />
    public int Level { get; }

    /// <inheritdoc />
    public int MaxCompressedLength { get; }

    /// <inheritdoc />
    public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
    {
        PageArguments.ThrowIfNotPage(page);
        written = 0;
        if (destination.Length < MaxCompressedLength)
        {
            return CompressResult.DestinationTooSmall;
        }

        int length = CompressPage(page, destination[..MaxCompressedLength]);
        if (length >= PageSizes.PageSize)
        {
            return CompressResult.SendRaw;
        }

        written = length;
        return CompressResult.Compressed;
    }

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>
    /// Compresses the page into <paramref name="destination"/> (exactly <see cref="MaxCompressedLength"/> bytes); returns the
    /// payload's length, or any length of a page or more when it does not shrink the page (the page then goes out raw, and
    /// what was written is ignored).
    /// </summary>
    protected abstract int CompressPage(ReadOnlySpan<byte> page, Span<byte> destination);
}
