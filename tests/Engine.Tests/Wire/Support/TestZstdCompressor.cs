using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Wire.Support;

/// <summary>A test-only zstd page compressor over ZstdSharp: one complete frame per page.</summary>
internal sealed class TestZstdCompressor(int level) : IPageCompressor
{
    private readonly ZstdSharp.Compressor _compressor = new(level);

    public CompressMethod Method => CompressMethod.Zstd;

    public int Level => level;

    public int MaxCompressedLength => PageSizes.ZstdBound;

    public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < PageSizes.ZstdBound)
        {
            return CompressResult.DestinationTooSmall;
        }

        int length = _compressor.Wrap(page[..PageSizes.PageSize], destination);
        if (length >= PageSizes.PageSize)
        {
            return CompressResult.SendRaw;
        }

        written = length;
        return CompressResult.Compressed;
    }

    public void Dispose() => _compressor.Dispose();
}
