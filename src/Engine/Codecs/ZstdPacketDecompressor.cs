namespace Engine.Codecs;

/// <summary>
/// The receiving side of multifd zstd: one decompression stream per channel for the whole migration. It decodes QEMU's
/// shape (one frame per channel that never ends, each packet flushed) and Engine's (one frame per packet): after a frame
/// ends the stream starts the next. A frame may end only with a page (QEMU's receiver refuses anything else too).
/// </summary>
internal sealed unsafe class ZstdPacketDecompressor : PacketDecompressor
{
    /// <summary>libzstd's default decoder limit (<c>ZSTD_WINDOWLOG_LIMIT_DEFAULT</c>, 128 MiB): what QEMU's receiver accepts, and the most a source can make one channel allocate.</summary>
    private const int WindowLogMax = 27;

    private readonly ZstdContextHandle _stream;
    private Interop.ZstdInBuffer _in;

    public ZstdPacketDecompressor()
    {
        _stream = ZstdContextHandle.CreateDecompression(WindowLogMax);
    }

    public override int Consumed => (int)_in.pos;

    public override void Begin(byte* input, int length)
    {
        _in = new Interop.ZstdInBuffer { src = input, size = (nuint)length, pos = 0 };
    }

    public override bool DecodePage(byte* page, bool last)
    {
        var output = new Interop.ZstdOutBuffer { dst = page, size = PageSize, pos = 0 };
        nint context = _stream.DangerousGetHandle();
        fixed (Interop.ZstdInBuffer* input = &_in)
        {
            while (output.pos < output.size)
            {
                nuint inBefore = input->pos;
                nuint outBefore = output.pos;
                nuint rc = Interop.ZSTD_decompressStream(context, &output, input);
                if (Interop.ZSTD_isError(rc) != 0)
                {
                    Error = $"zstd decompression failed: {ZstdContextHandle.ErrorName(rc)}";
                    return false;
                }

                if (rc == 0 && output.pos < output.size)
                {
                    // A frame that ends with the page (rc 0, the page full) is Engine's frame per packet; one that ends inside
                    // a page would put the pages after it out of place in QEMU's receiver.
                    Error = $"a zstd frame ended {output.pos} bytes into a page: a multifd frame may end only at the end of a page";
                    return false;
                }

                if (output.pos < output.size && input->pos == inBefore && output.pos == outBefore)
                {
                    Error = $"the compressed data ended {output.pos} bytes into a page: truncated or corrupt";
                    return false;
                }
            }
        }

        return true;
    }

    public override bool End()
    {
        // Bytes left after the last page may only be framing that decodes to nothing, never more page data. libzstd decodes
        // whole blocks, so more data may also sit decoded in its buffer with every input byte taken: one more call with one
        // byte of room tells both apart.
        byte scratch = 0;
        var output = new Interop.ZstdOutBuffer { dst = &scratch, size = 1, pos = 0 };
        fixed (Interop.ZstdInBuffer* input = &_in)
        {
            nuint rc = Interop.ZSTD_decompressStream(_stream.DangerousGetHandle(), &output, input);
            if (Interop.ZSTD_isError(rc) != 0 || output.pos != 0 || input->pos != input->size)
            {
                Error = $"the compressed data holds more than the packet's pages ({input->size - input->pos} bytes left over{(output.pos != 0 ? ", and more decoded data" : "")})";
                return false;
            }
        }

        return true;
    }

    public override void Dispose() => _stream.Dispose();
}
