using System.Buffers.Binary;
using Engine.Codecs;

namespace Engine.Multifd;

/// <summary>
/// The fields of one multifd packet header, checked before any is used: magic, version and flags (the 12-byte common
/// header, <see cref="TryParseCommon"/>), <c>pages_alloc</c> ≤ 128, <c>normal_pages</c> ≤ <c>pages_alloc</c>,
/// <c>zero_pages</c> ≤ <c>pages_alloc</c> − <c>normal_pages</c>, compression bits that name the method the channel expects,
/// and for a compressed packet with pages a size within <see cref="MultifdFormat.MaxCompressedPayload"/>. The block name and
/// the offsets are checked against guest memory by <see cref="MultifdPacketParser"/>.
/// </summary>
/// <remarks>
/// Read are the packets of QEMU 7.2 to 10.0: 9.0 added <c>zero_pages</c> (in the first half of 7.2's unused bytes, which 7.2
/// leaves zero), whose offsets follow the normal ones in the offset list; from 9.0 a SYNC packet carries no pages, and from
/// 9.2 all its fields but the flags (exactly SYNC) are zero, <c>pages_alloc</c> included.
/// </remarks>
internal readonly struct MultifdPacketHeader
{
    /// <summary>The header's flags word.</summary>
    public uint Flags { get; init; }

    /// <summary><c>pages_alloc</c>.</summary>
    public int PagesAlloc { get; init; }

    /// <summary><c>normal_pages</c> (7.2: <c>pages_used</c>): pages whose data this packet carries; offset slots [0, normal).</summary>
    public int NormalPages { get; init; }

    /// <summary><c>zero_pages</c> (QEMU 9.0+; 0 before): pages to make zero, with no data; offset slots [normal, normal + zero).</summary>
    public int ZeroPages { get; init; }

    /// <summary><c>next_packet_size</c>: compressed payload bytes (meaningful only when the packet carries normal pages).</summary>
    public int NextPacketSize { get; init; }

    /// <summary><c>packet_num</c>.</summary>
    public ulong PacketNumber { get; init; }

    /// <summary>True when <see cref="MultifdFormat.FlagSync"/> is set.</summary>
    public bool IsSync => (Flags & MultifdFormat.FlagSync) != 0;

    /// <summary>Offset slots in use: the normal pages, then the zero pages.</summary>
    public int TotalPages => NormalPages + ZeroPages;

    /// <summary>
    /// Checks the 12 bytes every packet starts with (QEMU 10.0's <c>MultiFDPacketHdr_t</c>): magic, version, and flags
    /// that Engine can carry. What it cannot is refused by name: a VFIO device-state packet (0x40, a different layout that
    /// must not be read as a RAM packet), a qpl, uadk or qatzip packet, any other bit by its value. Returns false with
    /// <paramref name="error"/> and <paramref name="errorOffset"/> (within the header) on the first bad field.
    /// </summary>
    public static bool TryParseCommon(ReadOnlySpan<byte> header, out uint flags, out string? error, out int errorOffset)
    {
        flags = 0;
        error = null;
        errorOffset = 0;
        if (header.Length < MultifdFormat.CommonHeaderLength)
        {
            error = $"a packet starts with {MultifdFormat.CommonHeaderLength} bytes of magic, version and flags, got {header.Length}";
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

        flags = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.FlagsOffset..]);
        errorOffset = MultifdFormat.FlagsOffset;
        if ((flags & MultifdFormat.FlagDeviceState) != 0)
        {
            error = $"flags 0x{flags:X} mark a device-state packet (0x40): a VFIO device's state sent over multifd (QEMU 10.0, "
                + "vfio-pci x-migration-multifd-transfer), which Engine cannot carry; migrate this guest without Engine, or without the VFIO device";
            return false;
        }

        uint unknown = flags & ~MultifdFormat.KnownFlags;
        if (unknown != 0)
        {
            error = $"flags 0x{flags:X} carry bits 0x{unknown:X} that QEMU (up to 10.0) does not define (SYNC 0x1, compression 0x3E, device state 0x40)";
            return false;
        }

        uint bits = flags & MultifdFormat.CompressionMask;
        if (MultifdFormat.UndecodableMethodName(bits) is string name)
        {
            error = $"the packet is compressed with {name} (flag 0x{bits:X2}), which Engine cannot decode; set multifd-compression to none, zlib or zstd on the source";
            return false;
        }

        if (MultifdFormat.MethodOf(flags) is null)
        {
            error = $"the packet's compression bits 0x{bits:X2} name no method: QEMU sets one of zlib 0x02, zstd 0x04, qpl 0x08, uadk 0x10, qatzip 0x20, or none";
            return false;
        }

        errorOffset = 0;
        return true;
    }

    /// <summary>
    /// Reads and checks a header for a channel configured with <paramref name="method"/>. Returns false with
    /// <paramref name="error"/> and <paramref name="errorOffset"/> (within the header) on the first bad field.
    /// </summary>
    /// <remarks>
    /// A packet without normal pages (a SYNC, or 9.0's packet of zero pages only) is not held to carry the method's bits:
    /// QEMU 7.2 sets them only on packets it compressed, 9.0+ SYNC packets carry SYNC alone, and a zero-pages-only packet
    /// carries them though it has no payload. Bits that name another method are refused on any packet. Such a packet's
    /// <c>next_packet_size</c> is not read: 7.2 leaves the previous packet's there (and its block name, unused then too).
    /// </remarks>
    public static bool TryParse(ReadOnlySpan<byte> header, CompressMethod method, out MultifdPacketHeader result, out string? error, out int errorOffset)
    {
        result = default;
        if (header.Length < MultifdFormat.PacketHeaderLength)
        {
            error = $"a packet header is {MultifdFormat.PacketHeaderLength} bytes, got {header.Length}";
            errorOffset = 0;
            return false;
        }

        if (!TryParseCommon(header, out uint flags, out error, out errorOffset))
        {
            return false;
        }

        uint pagesAlloc = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.PagesAllocOffset..]);
        uint normal = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.NormalPagesOffset..]);
        uint next = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.NextPacketSizeOffset..]);
        uint zero = BinaryPrimitives.ReadUInt32BigEndian(header[MultifdFormat.ZeroPagesOffset..]);
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

        if (zero > pagesAlloc - normal)
        {
            errorOffset = MultifdFormat.ZeroPagesOffset;
            error = $"zero_pages {zero} is more than pages_alloc {pagesAlloc} less normal_pages {normal}";
            return false;
        }

        CompressMethod carried = MultifdFormat.MethodOf(flags)!.Value;
        if (carried != method && (normal > 0 || carried != CompressMethod.None))
        {
            errorOffset = MultifdFormat.FlagsOffset;
            error = $"the packet's compression bits 0x{flags & MultifdFormat.CompressionMask:X} name {MethodName(carried)}, but this destination's multifd-compression is {MethodName(method)}";
            return false;
        }

        if (normal > 0 && method != CompressMethod.None && (next == 0 || next > MultifdFormat.MaxCompressedPayload))
        {
            errorOffset = MultifdFormat.NextPacketSizeOffset;
            error = $"next_packet_size {next} is out of range: a compressed packet holds 1 to {MultifdFormat.MaxCompressedPayload} bytes";
            return false;
        }

        errorOffset = 0;
        result = new MultifdPacketHeader
        {
            Flags = flags,
            PagesAlloc = (int)pagesAlloc,
            NormalPages = (int)normal,
            ZeroPages = (int)zero,
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
