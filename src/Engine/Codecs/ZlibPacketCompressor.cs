namespace Engine.Codecs;

/// <summary>
/// multifd zlib (QEMU's multifd-zlib.c): one deflate stream per channel, <c>deflateInit(level)</c> once; each page deflated
/// with <c>Z_NO_FLUSH</c>, the packet's last with <c>Z_SYNC_FLUSH</c> (ends on a byte boundary with an empty stored block,
/// <c>00 00 FF FF</c>). Only the channel's first packet starts with the 2-byte zlib header; no Adler-32 is ever sent.
/// </summary>
internal sealed unsafe class ZlibPacketCompressor : PacketCompressor
{
    private readonly ZlibStreamHandle _stream;

    public ZlibPacketCompressor(int level)
    {
        NativeLibraries.EnsureZlib();
        _stream = ZlibStreamHandle.CreateDeflate(level);
    }

    public override int CompressPacket(byte* pages, int count, byte* output)
    {
        bool added = false;
        _stream.DangerousAddRef(ref added);
        try
        {
            Interop.ZStream* z = _stream.Stream;
            z->next_out = output;
            z->avail_out = OutputBound;
            for (int i = 0; i < count; i++)
            {
                int flush = i == count - 1 ? Interop.Zlib.Z_SYNC_FLUSH : Interop.Zlib.Z_NO_FLUSH;
                z->next_in = pages + ((long)i * PageSize);
                z->avail_in = PageSize;

                // With OutputBound bytes of room one call takes the whole page (and for SYNC_FLUSH writes everything out).
                int rc = Interop.deflate(z, flush);
                if (rc != Interop.Zlib.Z_OK || z->avail_in != 0 || z->avail_out == 0)
                {
                    throw NativeLibraries.Native($"zlib deflate failed on page {i} of a packet: rc {rc}, {z->avail_in} bytes left in, {z->avail_out} bytes of room left");
                }
            }

            return OutputBound - (int)z->avail_out;
        }
        finally
        {
            if (added)
            {
                _stream.DangerousRelease();
            }
        }
    }

    public override void Dispose() => _stream.Dispose();
}
