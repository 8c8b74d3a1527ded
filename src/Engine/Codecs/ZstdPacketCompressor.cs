namespace Engine.Codecs;

/// <summary>
/// multifd zstd as Engine sends it: each packet is one complete zstd frame (<c>ZSTD_compress2</c> on the channel's context,
/// at the channel's level, no checksum), compressed in one call from the packet's pages, which lie one after another.
/// </summary>
/// <remarks>
/// <para>
/// QEMU streams every page into one frame per channel that never ends (the fuzz project's
/// <c>ZstdStreamPacketCompressor</c>): libzstd then copies each page into its window and matches across the window's wrap
/// (its <c>extDict</c> match finder), which was about a fifth of a source's CPU. One frame per packet matches straight in the pages (the one-shot match finder,
/// what <c>zstd -b1 -B524288</c> measures) and copies nothing; what it gives up is history across packets (on the test
/// guest's RAM 0.15 % more bytes, docs/PERFORMANCE.md).
/// </para>
/// <para>
/// Every multifd zstd receiver decodes it: QEMU's (7.2 to 10.0) and Engine's keep one <c>ZSTD_decompressStream</c> per
/// channel, which starts the next frame after one ends (zstd's frames concatenate), and a frame here ends exactly at the
/// packet's last page, where their page loops stop anyway (<c>ZSTD_decompressStream</c> returns 0 with the page full).
/// </para>
/// </remarks>
internal sealed unsafe class ZstdPacketCompressor : PacketCompressor
{
    private readonly ZstdContextHandle _context;

    public ZstdPacketCompressor(int level)
    {
        _context = ZstdContextHandle.CreateCompression(level);
    }

    public override int CompressPacket(byte* pages, int count, byte* output)
    {
        bool added = false;
        _context.DangerousAddRef(ref added);
        try
        {
            // ZSTD_compress2 starts a new frame on the context's parameters (the level set once), compresses everything in
            // one call and ends the frame; the context's tables are reused from packet to packet.
            nuint rc = Interop.ZSTD_compress2(_context.DangerousGetHandle(), output, OutputBound, pages, (nuint)((long)count * PageSize));
            if (Interop.ZSTD_isError(rc) != 0)
            {
                throw NativeLibraries.Native($"ZSTD_compress2 failed on a packet of {count} pages: {ZstdContextHandle.ErrorName(rc)}");
            }

            return (int)rc;
        }
        finally
        {
            if (added)
            {
                _context.DangerousRelease();
            }
        }
    }

    public override void Dispose() => _context.Dispose();
}
