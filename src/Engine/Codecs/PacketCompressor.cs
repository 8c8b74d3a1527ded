using Engine.Codecs;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// One channel's compression, kept for the whole migration: zlib as QEMU's multifd keeps it, one stream whose packet's last
/// page flushes (so the receiver can decode the packet) and which is never ended or reset; zstd one complete frame per
/// packet (<see cref="ZstdPacketCompressor"/>), which QEMU's one stream per channel decodes as it decodes its own.
/// </summary>
/// <remarks>
/// Owned by one channel thread; nothing is allocated per page. The output buffer must hold <see cref="OutputBound"/> bytes,
/// enough for a whole packet of incompressible pages, so compressing never runs out of room.
/// </remarks>
internal abstract unsafe class PacketCompressor : IDisposable
{
    /// <summary>
    /// The largest output of one packet: 1 MiB, twice a multifd packet's 512 KiB of pages, far above either codec's bound
    /// (it is <c>MultifdFormat.MaxCompressedPayload</c>, which checks the two agree; Codecs sits below Multifd).
    /// </summary>
    public const int OutputBound = 1024 * 1024;

    /// <summary>Creates the stream for <paramref name="method"/> at <paramref name="level"/>; null for none.</summary>
    public static PacketCompressor? Create(CompressMethod method, int level) => method switch
    {
        CompressMethod.None => null,
        CompressMethod.Zlib => new ZlibPacketCompressor(level),
        CompressMethod.Zstd => new ZstdPacketCompressor(level),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>
    /// Compresses <paramref name="count"/> pages laid out one after another at <paramref name="pages"/> into
    /// <paramref name="output"/> (<see cref="OutputBound"/> bytes), flushing after the last. Returns the bytes written.
    /// </summary>
    public abstract int CompressPacket(byte* pages, int count, byte* output);

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>Checked page size as a native length.</summary>
    protected const int PageSize = PageSizes.PageSize;
}
