using ICSharpCode.SharpZipLib.Zip.Compression;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Compresses each page into one complete zlib stream (header, deflate data, Adler-32) with SharpZipLib's managed
/// <see cref="Deflater"/>: no native dependency, slower than native zlib. One deflater per instance, reset per page.
/// </summary>
/// <remarks>
/// SharpZipLib 1.4.2 takes arrays only, so the page is copied into an array owned by the instance and the stream is copied
/// out; Engine allocates nothing per page. SharpZipLib itself does, on every block it compresses with Huffman trees (levels
/// 1-9): its tree builder (<c>DeflaterHuffman.Tree.BuildTree</c>, <c>BuildLength</c>, <c>BuildCodes</c>) news up its
/// heap, node, length and code arrays for each of the three trees, and offers no way to reuse them. Level 0 (stored blocks)
/// builds no trees and allocates nothing.
/// </remarks>
internal sealed class SharpZipLibPageCompressor : PageCompressor
{
    private readonly Deflater _deflater;
    private readonly byte[] _input = new byte[PageSizes.PageSize];
    private readonly byte[] _output = new byte[PageSizes.ZlibBound];

    /// <summary>Creates a compressor at <paramref name="level"/> (0 to 9, 0 = stored); throws <see cref="EngineParameterException"/> otherwise.</summary>
    public SharpZipLibPageCompressor(int level)
        : base(CompressMethod.Zlib, level)
    {
        // noZlibHeaderOrFooter: false, so the output is a zlib (RFC 1950) stream as QEMU writes, not raw deflate.
        _deflater = new Deflater(level, noZlibHeaderOrFooter: false);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        // Managed only: nothing to release.
    }

    /// <inheritdoc />
    protected override int CompressPage(ReadOnlySpan<byte> page, Span<byte> destination)
    {
        page.CopyTo(_input);
        _deflater.Reset();
        _deflater.SetInput(_input, 0, PageSizes.PageSize);
        _deflater.Finish();

        int length = 0;
        while (!_deflater.IsFinished)
        {
            // Stop as soon as the stream reaches a page: it goes out raw anyway, and the next Reset discards the rest.
            if (length >= PageSizes.PageSize)
            {
                return length;
            }

            int produced = _deflater.Deflate(_output, length, _output.Length - length);
            if (produced == 0)
            {
                // Finish() was called and there is room: a deflater that makes no progress is broken, not the page.
                throw new InvalidOperationException("SharpZipLib's Deflater stopped making progress before finishing the page.");
            }

            length += produced;
        }

        if (length < PageSizes.PageSize)
        {
            _output.AsSpan(0, length).CopyTo(destination);
        }

        return length;
    }
}
