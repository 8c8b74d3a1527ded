using System.IO.Compression;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Wire.Support;

/// <summary>
/// A test-only zlib page compressor over System.IO.Compression (allocates per page; tests only). Stands in for the codecs
/// branch's native compressor so the wire code can be tested on its own.
/// </summary>
internal sealed class TestZlibCompressor(int level) : IPageCompressor
{
    public CompressMethod Method => CompressMethod.Zlib;

    public int Level => level;

    public int MaxCompressedLength => PageSizes.ZlibBound;

    public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < PageSizes.ZlibBound)
        {
            return CompressResult.DestinationTooSmall;
        }

        using var output = new MemoryStream();
        using (var zlib = new ZLibStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true))
        {
            zlib.Write(page[..PageSizes.PageSize]);
        }

        if (output.Length >= PageSizes.PageSize)
        {
            return CompressResult.SendRaw;
        }

        output.GetBuffer().AsSpan(0, (int)output.Length).CopyTo(destination);
        written = (int)output.Length;
        return CompressResult.Compressed;
    }

    public void Dispose()
    {
    }
}
