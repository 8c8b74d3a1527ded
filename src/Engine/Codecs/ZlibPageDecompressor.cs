using static Engine.Interop.Zlib;

using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Decompresses one zlib stream into exactly one page with the system's native zlib: <c>inflateReset</c>, then one
/// <c>inflate</c> with exactly 4096 bytes of output room, which must end the stream (<c>Z_STREAM_END</c>), consume every input
/// byte and fill the page. zlib never writes past the room it is given, so nothing beyond the page is touched.
/// Nothing is allocated per page.
/// </summary>
internal sealed class ZlibPageDecompressor : IPageDecompressor
{
    private readonly ZlibStreamHandle _stream;

    /// <summary>Creates the decompressor and its inflate stream.</summary>
    public ZlibPageDecompressor()
    {
        NativeLibraries.EnsureZlib();
        _stream = ZlibStreamHandle.CreateInflate();
    }

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

        // Exactly one page of room: zlib never writes past it.
        int rc = _stream.ResetAndFinish(payload, page[..PageSizes.PageSize], out uint inputLeft, out uint outputLeft);
        switch (rc)
        {
            case Z_STREAM_END:
                if (outputLeft != 0)
                {
                    return DecompressStatus.WrongSize;
                }

                // Bytes after the Adler-32: not one page stream. (QEMU ignores them; Engine does not guess.)
                return inputLeft == 0 ? DecompressStatus.Ok : DecompressStatus.Corrupt;
            case Z_OK:
            case Z_BUF_ERROR:
                // Stopped before the end. With the page full and input left, the stream holds more than a page;
                // otherwise the input ran out: a truncated stream.
                return outputLeft == 0 && inputLeft != 0 ? DecompressStatus.WrongSize : DecompressStatus.Corrupt;
            case Z_MEM_ERROR:
                throw new OutOfMemoryException("zlib inflate could not allocate its window (Z_MEM_ERROR).");
            default:
                // Z_DATA_ERROR (bad data or checksum), Z_NEED_DICT, Z_STREAM_ERROR.
                return DecompressStatus.Corrupt;
        }
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();
}
