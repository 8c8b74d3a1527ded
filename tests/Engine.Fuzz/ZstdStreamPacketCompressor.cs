using Engine.Codecs;

namespace Engine.Fuzz;

/// <summary>
/// multifd zstd as QEMU's multifd-zstd.c sends it: one compression stream per channel at the channel's level; each page
/// with <c>ZSTD_e_continue</c>, the packet's last with <c>ZSTD_e_flush</c>, which writes out whole blocks but keeps the
/// frame open, so the window (history) carries over to the next packet. The frame is never ended.
/// </summary>
/// <remarks>
/// Engine's own channels end a frame per packet (<see cref="ZstdPacketCompressor"/>); this one writes QEMU's shape for the
/// tests and fuzz seeds that play a QEMU source (<see cref="CreateQemuShaped"/>), so it lives with the fuzz harness, not in
/// the library (the test project compiles this file too).
/// </remarks>
internal sealed unsafe class ZstdStreamPacketCompressor : PacketCompressor
{
    private readonly ZstdContextHandle _stream;

    /// <summary>
    /// The stream as QEMU's multifd sends it: for zstd one frame per channel that never ends (this class), the others as
    /// <see cref="PacketCompressor.Create"/>.
    /// </summary>
    public static PacketCompressor? CreateQemuShaped(CompressMethod method, int level) =>
        method == CompressMethod.Zstd ? new ZstdStreamPacketCompressor(level) : Create(method, level);

    public ZstdStreamPacketCompressor(int level)
    {
        _stream = ZstdContextHandle.CreateCompression(level);
    }

    public override int CompressPacket(byte* pages, int count, byte* output)
    {
        bool added = false;
        _stream.DangerousAddRef(ref added);
        try
        {
            nint context = _stream.DangerousGetHandle();
            var outBuffer = new Interop.ZstdOutBuffer { dst = output, size = OutputBound, pos = 0 };
            for (int i = 0; i < count; i++)
            {
                bool last = i == count - 1;
                var inBuffer = new Interop.ZstdInBuffer { src = pages + ((long)i * PageSize), size = PageSize, pos = 0 };
                while (true)
                {
                    nuint rc = Interop.ZSTD_compressStream2(context, &outBuffer, &inBuffer, last ? Interop.ZSTD_e_flush : Interop.ZSTD_e_continue);
                    if (Interop.ZSTD_isError(rc) != 0)
                    {
                        throw NativeLibraries.Native($"ZSTD_compressStream2 failed on page {i} of a packet: {ZstdContextHandle.ErrorName(rc)}");
                    }

                    // e_continue: done once the page is taken in. e_flush: rc is what is still to flush, 0 when done.
                    bool done = last ? rc == 0 : inBuffer.pos == inBuffer.size;
                    if (done)
                    {
                        break;
                    }

                    if (outBuffer.pos == outBuffer.size)
                    {
                        throw new InvalidOperationException("ZSTD_compressStream2 ran out of output room for one packet");
                    }
                }
            }

            return (int)outBuffer.pos;
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
