using Engine.Codecs;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// One receiving channel's decompression stream, kept across packets as the sender keeps its compression stream. A packet is
/// decoded page by page straight into guest memory: <see cref="Begin"/> with the payload, <see cref="DecodePage"/> once per
/// page (exactly 4096 bytes each, never more), then <see cref="End"/>, which refuses data beyond the packet's pages.
/// </summary>
/// <remarks>Owned by one channel thread. The hot path returns false instead of throwing; <see cref="Error"/> says why.</remarks>
internal abstract unsafe class PacketDecompressor : IDisposable
{
    /// <summary>Creates the stream for <paramref name="method"/>; null for none.</summary>
    public static PacketDecompressor? Create(CompressMethod method) => method switch
    {
        CompressMethod.None => null,
        CompressMethod.Zlib => new ZlibPacketDecompressor(),
        CompressMethod.Zstd => new ZstdPacketDecompressor(),
        _ => throw new ArgumentOutOfRangeException(nameof(method)),
    };

    /// <summary>What went wrong, after a false return.</summary>
    public string? Error { get; protected set; }

    /// <summary>Payload bytes consumed so far in this packet (for error offsets).</summary>
    public abstract int Consumed { get; }

    /// <summary>Starts a packet whose payload is <paramref name="length"/> bytes at <paramref name="input"/>.</summary>
    public abstract void Begin(byte* input, int length);

    /// <summary>Decodes the next page into <paramref name="page"/> (4096 bytes); false if the data is corrupt or short.</summary>
    public abstract bool DecodePage(byte* page, bool last);

    /// <summary>After the last page: false if the payload holds more data than the packet's pages.</summary>
    public abstract bool End();

    /// <inheritdoc />
    public abstract void Dispose();

    /// <summary>The page size.</summary>
    protected const int PageSize = PageSizes.PageSize;
}
