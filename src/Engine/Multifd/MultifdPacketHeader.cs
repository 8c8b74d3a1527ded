using System.Buffers.Binary;
using Engine.Codecs;

namespace Engine.Multifd;

/// <summary>
/// The fields of one multifd packet header, checked before any is used: magic, version, compression bits,
/// <c>pages_alloc</c> ≤ 128, <c>normal_pages</c> ≤ <c>pages_alloc</c>, and for a packet with pages the method the channel
/// expects and a compressed size within <see cref="MultifdFormat.MaxCompressedPayload"/>. The block name and the offsets are
/// checked against guest memory by <see cref="MultifdPacketParser"/>.
/// </summary>
internal readonly struct MultifdPacketHeader
{
    /// <summary>The header's flags word.</summary>
    public uint Flags { get; init; }

    /// <summary><c>pages_alloc</c>.</summary>
    public int PagesAlloc { get; init; }

    /// <summary><c>normal_pages</c> (7.2: <c>pages_used</c>): pages this packet carries.</summary>
    public int NormalPages { get; init; }

    /// <summary><c>next_packet_size</c>: compressed payload bytes (meaningful only when the packet carries pages).</summary>
    public int NextPacketSize { get; init; }

    /// <summary><c>packet_num</c>.</summary>
    public ulong PacketNumber { get; init; }

    /// <summary>True when <see cref="MultifdFormat.FlagSync"/> is set.</summary>
    public bool IsSync => (Flags & MultifdFormat.FlagSync) != 0;

    /// <summary>
    /// Reads and checks a header for a channel configured with <paramref name="method"/>. Returns false with
    /// <paramref name="error"/> and <paramref name="errorOffset"/> (within the header) on the first bad field.
    /// </summary>
    /// <remarks>
    /// A packet without pages (a SYNC) is not held to the method: QEMU sets the compression bits only on packets it
    /// compressed, and leaves <c>next_packet_size</c> and the block name as they were in the channel's previous packet.
    /// </remarks>
    public static bool TryParse(ReadOnlySpan<byte> header, CompressMethod method, out MultifdPacketHeader result, out string? error, out int errorOffset)
    {
        result = default;
        error = null;
        errorOffset = 0;
        if (header.Length < MultifdFormat.PacketHeaderLength)
        {
            error = $"a packet header is {MultifdFormat.PacketHeaderLength} bytes, got {header.Length}";
            return false;
        }

        uint magic = BinaryPrimitives.ReadUInt32BigEndian(header);
        if (magic != MultifdFormat.Magic)
        {
            error = $"expected the packet magic 0x{MultifdFormat.Magic:X8}, found 0x{magic:X8}";
            return false;
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(header[4..]);
        if (version != MultifdFormat.Version)
        {
            errorOffset = 4;
            error = $"expected packet version {MultifdFormat.Version}, found {version}";
            return false;
        }

        uint flags = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.FlagsOffset..]);
        uint pagesAlloc = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.PagesAllocOffset..]);
        uint normal = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.NormalPagesOffset..]);
        uint next = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.NextPacketSizeOffset..]);
        if ((flags & ~(MultifdFormat.FlagSync | MultifdFormat.CompressionMask)) != 0)
        {
            errorOffset = MultifdFormat.FlagsOffset;
            error = $"flags 0x{flags:X} carry bits QEMU 7.2 does not define (only SYNC 0x1 and compression 0xE)";
            return false;
        }

        if (pagesAlloc > MultifdFormat.PagesPerPacket)
        {
            errorOffset = MultifdFormat.PagesAllocOffset;
            error = $"pages_alloc {pagesAlloc} is more than the {MultifdFormat.PagesPerPacket} page slots of a packet";
            return false;
        }

        if (normal > pagesAlloc)
        {
            errorOffset = MultifdFormat.NormalPagesOffset;
            error = $"normal_pages {normal} is more than pages_alloc {pagesAlloc}";
            return false;
        }

        if (normal > 0)
        {
            CompressMethod? carried = MultifdFormat.MethodOf(flags);
            if (carried != method)
            {
                errorOffset = MultifdFormat.FlagsOffset;
                error = $"the packet's compression bits 0x{flags & MultifdFormat.CompressionMask:X} name {(carried is { } m ? MethodName(m) : "an unknown method")}, but this destination's multifd-compression is {MethodName(method)}";
                return false;
            }

            if (method != CompressMethod.None && (next == 0 || next > MultifdFormat.MaxCompressedPayload))
            {
                errorOffset = MultifdFormat.NextPacketSizeOffset;
                error = $"next_packet_size {next} is out of range: a compressed packet holds 1 to {MultifdFormat.MaxCompressedPayload} bytes";
                return false;
            }
        }

        result = new MultifdPacketHeader
        {
            Flags = flags,
            PagesAlloc = (int)pagesAlloc,
            NormalPages = (int)normal,
            NextPacketSize = normal > 0 && method != CompressMethod.None ? (int)next : 0,
            PacketNumber = BinaryPrimitives.ReadUInt64BigEndian(header[MultifdFormat.PacketNumOffset..]),
        };
        return true;
    }

    /// <summary>The block name field up to its first NUL (at most 255 bytes: QEMU forces the last byte to NUL).</summary>
    public static ReadOnlySpan<byte> BlockName(ReadOnlySpan<byte> header)
    {
        ReadOnlySpan<byte> field = header.Slice(MultifdFormat.BlockNameOffset, MultifdFormat.BlockNameLength - 1);
        int end = field.IndexOf((byte)0);
        return end < 0 ? field : field[..end];
    }

    /// <summary>Offset slot <paramref name="index"/>.</summary>
    public static ulong Offset(ReadOnlySpan<byte> header, int index) =>
        BinaryPrimitives.ReadUInt64BigEndian(header[(MultifdFormat.HeaderFieldsLength + (index * sizeof(ulong)))..]);

    /// <summary>The parameter value QEMU uses for a method.</summary>
    public static string MethodName(CompressMethod method) => method switch
    {
        CompressMethod.None => "none",
        CompressMethod.Zlib => "zlib",
        CompressMethod.Zstd => "zstd",
        _ => method.ToString(),
    };
}
