using ICSharpCode.SharpZipLib;
using ICSharpCode.SharpZipLib.Zip.Compression;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Decompresses one zlib stream into exactly one page with SharpZipLib's managed <see cref="Inflater"/>, reset per page.
/// The stream is inflated into an array owned by the instance, one byte larger than a page so an oversized stream is seen
/// as such, and copied to the page only when it is exactly one page: a bad payload leaves the page untouched.
/// </summary>
/// <remarks>
/// Engine allocates nothing per page here. SharpZipLib 1.4.2 does, for every block with dynamic Huffman codes: a new
/// <c>InflaterDynHeader</c> (with its code-length array and iterator) and new <c>InflaterHuffmanTree</c> tables; fixed-code
/// and stored blocks allocate nothing. It reports bad data by throwing, so the error path (only) costs an exception.
/// </remarks>
internal sealed class SharpZipLibPageDecompressor : IPageDecompressor
{
    private readonly Inflater _inflater = new(noHeader: false);
    private readonly byte[] _input = new byte[PageSizes.ZlibBound];
    private readonly byte[] _output = new byte[PageSizes.PageSize + 1];

    /// <inheritdoc />
    public CompressMethod Method => CompressMethod.Zlib;

    /// <inheritdoc />
    public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
    {
        DecompressStatus status = PayloadFormat.CheckBeforeDecode(CompressMethod.Zlib, payload, page.Length);
        if (status != DecompressStatus.Ok)
        {
            return status;
        }

        payload.CopyTo(_input);
        _inflater.Reset();
        _inflater.SetInput(_input, 0, payload.Length);

        int length = 0;
        try
        {
            while (!_inflater.IsFinished && length < _output.Length)
            {
                int produced = _inflater.Inflate(_output, length, _output.Length - length);
                if (produced == 0)
                {
                    // Needs input it will not get (truncated), or a dictionary: no progress is possible.
                    break;
                }

                length += produced;
            }
        }
        catch (Exception e) when (e is SharpZipBaseException or InvalidOperationException or IndexOutOfRangeException or ArgumentException or OverflowException)
        {
            // Error path only. SharpZipLib throws SharpZipBaseException for bad headers, codes, lengths and checksums; the
            // others guard against its internal checks on hostile input (InflaterHuffmanTree.BuildTree's checked
            // arithmetic throws OverflowException for an over-subscribed code-length set). The next Reset clears its state.
            return DecompressStatus.Corrupt;
        }

        if (length > PageSizes.PageSize)
        {
            return DecompressStatus.WrongSize;
        }

        if (!_inflater.IsFinished)
        {
            return DecompressStatus.Corrupt;
        }

        if (length != PageSizes.PageSize)
        {
            return DecompressStatus.WrongSize;
        }

        if (_inflater.RemainingInput != 0)
        {
            // Bytes after the Adler-32: not one page stream.
            return DecompressStatus.Corrupt;
        }

        _output.AsSpan(0, PageSizes.PageSize).CopyTo(page);
        return DecompressStatus.Ok;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        // Managed only: nothing to release.
    }
}
