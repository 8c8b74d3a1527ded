using static Engine.Interop.Zlib;

using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Decompresses one zlib stream into exactly one page with the system's native zlib: <c>inflateReset</c>, then one
/// <c>inflate</c> with exactly 4096 bytes of output room, which must end the stream (<c>Z_STREAM_END</c>), consume every input
/// byte and fill the page. zlib never writes past the room it is given, so nothing beyond the page is touched.
/// Nothing is allocated per page.
/// </summary>
internal sealed unsafe class ZlibPageDecompressor : IPageDecompressor
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

        int rc;
        uint inputLeft;
        uint outputLeft;
        bool referenced = false;

        // Holds the handle open across the native calls (and throws ObjectDisposedException once disposed).
        _stream.DangerousAddRef(ref referenced);
        try
        {
            Interop.ZStream* stream = _stream.Stream;
            rc = Interop.inflateReset(stream);
            if (rc != Z_OK)
            {
                throw NativeLibraries.Native($"zlib inflateReset returned {rc}; the loaded zlib misbehaves.");
            }

            fixed (byte* source = payload)
            fixed (byte* target = page)
            {
                stream->next_in = source;
                stream->avail_in = (uint)payload.Length;
                stream->next_out = target;
                stream->avail_out = PageSizes.PageSize;

                // Z_FINISH: all input and all output room are here; zlib may then skip keeping a sliding window.
                rc = Interop.inflate(stream, Z_FINISH);
                inputLeft = stream->avail_in;
                outputLeft = stream->avail_out;

                // Do not leave zlib pointing into buffers that are unpinned from here on.
                stream->next_in = null;
                stream->next_out = null;
                stream->avail_in = 0;
                stream->avail_out = 0;
            }
        }
        finally
        {
            if (referenced)
            {
                _stream.DangerousRelease();
            }
        }

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
