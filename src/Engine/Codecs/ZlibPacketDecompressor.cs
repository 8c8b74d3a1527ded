namespace Engine.Codecs;

/// <summary>The receiving side of multifd zlib: one inflate stream per channel, never reset.</summary>
internal sealed unsafe class ZlibPacketDecompressor : PacketDecompressor
{
    private readonly ZlibStreamHandle _stream;
    private int _length;

    public ZlibPacketDecompressor()
    {
        NativeLibraries.EnsureZlib();
        _stream = ZlibStreamHandle.CreateInflate();
    }

    public override int Consumed => _length - (int)_stream.Stream->avail_in;

    public override void Begin(byte* input, int length)
    {
        _length = length;
        _stream.Stream->next_in = input;
        _stream.Stream->avail_in = (uint)length;
    }

    public override bool DecodePage(byte* page, bool last)
    {
        Interop.ZStream* z = _stream.Stream;
        z->next_out = page;
        z->avail_out = PageSize;
        while (z->avail_out > 0)
        {
            uint before = z->avail_in;
            int rc = Interop.inflate(z, last ? Interop.Zlib.Z_SYNC_FLUSH : Interop.Zlib.Z_NO_FLUSH);
            if (rc == Interop.Zlib.Z_STREAM_END)
            {
                // The sender never ends its stream: a final block here is not QEMU's multifd zlib.
                Error = "the zlib stream ended (a final block), but a multifd channel's stream never ends";
                return false;
            }

            if (rc != Interop.Zlib.Z_OK && rc != Interop.Zlib.Z_BUF_ERROR)
            {
                Error = $"zlib inflate failed ({rc}{(z->msg is null ? "" : ": " + new string((sbyte*)z->msg))})";
                return false;
            }

            if (z->avail_out > 0 && (z->avail_in == 0 || z->avail_in == before))
            {
                Error = $"the compressed data ended {PageSize - z->avail_out} bytes into a page: truncated or corrupt";
                return false;
            }
        }

        return true;
    }

    public override bool End()
    {
        if (_stream.Stream->avail_in == 0)
        {
            return true;
        }

        // Bytes left after the last page may only be block framing (an empty stored block), never more page data.
        byte scratch = 0;
        Interop.ZStream* z = _stream.Stream;
        z->next_out = &scratch;
        z->avail_out = 1;
        int rc = Interop.inflate(z, Interop.Zlib.Z_SYNC_FLUSH);
        if (z->avail_out == 0 || z->avail_in != 0 || (rc != Interop.Zlib.Z_OK && rc != Interop.Zlib.Z_BUF_ERROR))
        {
            Error = $"the compressed data holds more than the packet's pages ({z->avail_in} bytes left over)";
            return false;
        }

        return true;
    }

    public override void Dispose() => _stream.Dispose();
}
