using System.Buffers.Binary;
using System.Text;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Multifd;

/// <summary>
/// QEMU's multifd wire format (migration/multifd.c, multifd.h): the 64-byte hello that opens each channel and the
/// 1,344-byte packet header (320 bytes of fields, then 128 page offsets). Everything is big-endian and packed.
/// docs/MULTIFD.md has the layout byte by byte. Engine writes QEMU 7.2's packets; it reads those of QEMU 7.2 to 10.0,
/// which add <c>zero_pages</c> (9.0), SYNC packets without pages (9.0, all fields zero from 9.2) and more flag bits.
/// </summary>
internal static class MultifdFormat
{
    /// <summary><c>MULTIFD_MAGIC</c>, at the start of the hello and of every packet.</summary>
    public const uint Magic = 0x11223344;

    /// <summary><c>MULTIFD_VERSION</c>.</summary>
    public const uint Version = 1;

    /// <summary><c>sizeof(MultiFDInit_t)</c>: magic, version, uuid[16], id, unused1[7], unused2[4] (u64).</summary>
    public const int HelloLength = 64;

    /// <summary><c>sizeof(MultiFDPacket_t)</c> without its offsets: the fields and the 256-byte block name.</summary>
    public const int HeaderFieldsLength = 320;

    /// <summary>The block name field's size (<c>char ramblock[256]</c>).</summary>
    public const int BlockNameLength = 256;

    /// <summary><c>MULTIFD_PACKET_SIZE</c>: 512 KiB of pages per packet.</summary>
    public const int PacketDataSize = 512 * 1024;

    /// <summary>Page slots in a packet: <c>MULTIFD_PACKET_SIZE / page size</c> = 128 for 4 KiB pages.</summary>
    public const int PagesPerPacket = PacketDataSize / PageSizes.PageSize;

    /// <summary>The header the receiver always reads whole: 320 + 8 × 128 = 1,344 bytes, unused offset slots included.</summary>
    public const int PacketHeaderLength = HeaderFieldsLength + (sizeof(ulong) * PagesPerPacket);

    /// <summary>
    /// The largest compressed payload accepted: QEMU's receive buffer (<c>MULTIFD_PACKET_SIZE * 2</c> = 1 MiB). QEMU's
    /// sender never needs more than the codec's bound for 512 KiB (about 513 KiB).
    /// </summary>
    public const int MaxCompressedPayload = 2 * PacketDataSize;

    // The packet codecs (Codecs, a floor below) size their output by this bound: a build fails here if the two differ.
    private const int PacketCodecBoundAgrees = 1 / (PacketCompressor.OutputBound == MaxCompressedPayload ? 1 : 0);

    /// <summary>
    /// QEMU 10.0's <c>MultiFDPacketHdr_t</c>: magic, version and flags, the part every packet shares. A receiver reads it
    /// first, because a device-state packet (<see cref="FlagDeviceState"/>) has a different, shorter layout after it.
    /// </summary>
    public const int CommonHeaderLength = 12;

    /// <summary><c>MULTIFD_FLAG_SYNC</c>.</summary>
    public const uint FlagSync = 1;

    /// <summary><c>MULTIFD_FLAG_COMPRESSION_MASK</c>: bits 1–5 (QEMU 7.2 used bits 1–3; 9.1 and 9.2 added methods).</summary>
    public const uint CompressionMask = 0x1Fu << 1;

    /// <summary><c>MULTIFD_FLAG_QPL</c> (9.1): Intel QPL, hardware-assisted deflate with its own payload layout.</summary>
    public const uint FlagQpl = 4u << 1;

    /// <summary><c>MULTIFD_FLAG_UADK</c> (9.1): a HiSilicon accelerator's payload layout.</summary>
    public const uint FlagUadk = 8u << 1;

    /// <summary><c>MULTIFD_FLAG_QATZIP</c> (9.2): Intel QAT's gzip payload layout.</summary>
    public const uint FlagQatzip = 16u << 1;

    /// <summary><c>MULTIFD_FLAG_DEVICE_STATE</c> (10.0): the packet is a 276-byte <c>MultiFDPacketDeviceState_t</c> carrying a VFIO device's state.</summary>
    public const uint FlagDeviceState = 32u << 1;

    /// <summary>Every flag bit QEMU 10.0 defines: SYNC, the compression bits and DEVICE_STATE.</summary>
    public const uint KnownFlags = FlagSync | CompressionMask | FlagDeviceState;

    /// <summary>Field offsets in the header.</summary>
    internal const int FlagsOffset = 8, PagesAllocOffset = 12, NormalPagesOffset = 16, NextPacketSizeOffset = 20, PacketNumOffset = 24, ZeroPagesOffset = 32, BlockNameOffset = 64;

    /// <summary>The compression bits a packet with pages carries for <paramref name="method"/>: none 0, zlib 1&lt;&lt;1, zstd 2&lt;&lt;1.</summary>
    public static uint CompressionFlag(CompressMethod method) => method switch
    {
        CompressMethod.None => 0,
        CompressMethod.Zlib => 1u << 1,
        CompressMethod.Zstd => 2u << 1,
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "not a multifd compression"),
    };

    /// <summary>The method named by a packet's compression bits, or null for one Engine cannot decode (or no method at all).</summary>
    public static CompressMethod? MethodOf(uint flags) => (flags & CompressionMask) switch
    {
        0 => CompressMethod.None,
        1u << 1 => CompressMethod.Zlib,
        2u << 1 => CompressMethod.Zstd,
        _ => null,
    };

    /// <summary>The name of a method QEMU defines but Engine cannot decode (qpl, uadk, qatzip) for compression bits <paramref name="bits"/>, or null.</summary>
    public static string? UndecodableMethodName(uint bits) => bits switch
    {
        FlagQpl => "qpl",
        FlagUadk => "uadk",
        FlagQatzip => "qatzip",
        _ => null,
    };

    /// <summary>Writes a channel's hello: magic, version, <paramref name="uuid"/>, <paramref name="channelId"/>, zero padding.</summary>
    public static void WriteHello(Span<byte> destination, ReadOnlySpan<byte> uuid, byte channelId)
    {
        if (destination.Length < HelloLength || uuid.Length != 16)
        {
            throw new ArgumentException("a hello needs 64 bytes and a 16-byte UUID");
        }

        destination[..HelloLength].Clear();
        BinaryPrimitives.WriteUInt32BigEndian(destination, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(destination[4..], Version);
        uuid.CopyTo(destination[8..]);
        destination[24] = channelId;
    }

    /// <summary>
    /// Checks a hello against this destination: magic, version, UUID and a channel id below <paramref name="channels"/>
    /// (stricter than 7.2's <c>id &gt; channels</c>, which lets id N through). Returns the id; on a bad field, returns -1
    /// with <paramref name="error"/> naming it and <paramref name="errorOffset"/> its byte offset in the hello.
    /// </summary>
    public static int ParseHello(ReadOnlySpan<byte> hello, ReadOnlySpan<byte> uuid, int channels, out string? error, out int errorOffset)
    {
        error = null;
        errorOffset = 0;
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(hello);
        if (magic != Magic)
        {
            error = $"expected the multifd hello's magic 0x{Magic:X8}, found 0x{magic:X8}";
            return -1;
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(hello[4..]);
        if (version != Version)
        {
            errorOffset = 4;
            error = $"expected multifd version {Version}, found {version}";
            return -1;
        }

        if (!hello.Slice(8, 16).SequenceEqual(uuid))
        {
            errorOffset = 8;
            error = $"the source's UUID {FormatUuid(hello.Slice(8, 16))} is not this destination's {FormatUuid(uuid)}";
            return -1;
        }

        int id = hello[24];
        if (id >= channels)
        {
            errorOffset = 24;
            error = $"channel id {id} is out of range: this destination expects ids 0 to {channels - 1} (multifd-channels {channels})";
            return -1;
        }

        return id;
    }

    /// <summary>A UUID as QEMU prints it (8-4-4-4-12 hex digits).</summary>
    public static string FormatUuid(ReadOnlySpan<byte> uuid)
    {
        string hex = Convert.ToHexStringLower(uuid);
        return $"{hex[..8]}-{hex[8..12]}-{hex[12..16]}-{hex[16..20]}-{hex[20..]}";
    }

    /// <summary>Parses a UUID in QEMU's form (or 32 hex digits) into 16 bytes; throws <see cref="EngineParameterException"/>.</summary>
    public static byte[] ParseUuid(string text)
    {
        string hex = text.Replace("-", "", StringComparison.Ordinal);
        if (hex.Length != 32 || !hex.All(Uri.IsHexDigit))
        {
            throw new EngineParameterException("uuid", $"uuid '{text}' is not a UUID: accepted 8-4-4-4-12 hex digits, e.g. 00000000-0000-0000-0000-000000000000");
        }

        return Convert.FromHexString(hex);
    }

    /// <summary>
    /// Writes a packet header: the fields, <paramref name="blockName"/> NUL-padded, and <paramref name="offsets"/> (the
    /// unused slots zero). <paramref name="destination"/> must hold <see cref="PacketHeaderLength"/> bytes. Engine's source
    /// writes QEMU 7.2's packets (<paramref name="zeroPages"/> 0); with <paramref name="zeroPages"/> &gt; 0 (QEMU 9.0's
    /// <c>zero_pages</c>, for tests and seeds) the last <paramref name="zeroPages"/> of <paramref name="offsets"/> are zero pages.
    /// </summary>
    public static void WritePacketHeader(Span<byte> destination, uint flags, int normalPages, int nextPacketSize, ulong packetNumber, ReadOnlySpan<byte> blockName, ReadOnlySpan<long> offsets, int zeroPages = 0)
    {
        Span<byte> header = destination[..PacketHeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(header, Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header[4..], Version);
        BinaryPrimitives.WriteUInt32BigEndian(header[FlagsOffset..], flags);
        BinaryPrimitives.WriteUInt32BigEndian(header[PagesAllocOffset..], PagesPerPacket);
        BinaryPrimitives.WriteUInt32BigEndian(header[NormalPagesOffset..], (uint)normalPages);
        BinaryPrimitives.WriteUInt32BigEndian(header[NextPacketSizeOffset..], (uint)nextPacketSize);
        BinaryPrimitives.WriteUInt64BigEndian(header[PacketNumOffset..], packetNumber);
        header[ZeroPagesOffset..BlockNameOffset].Clear();
        BinaryPrimitives.WriteUInt32BigEndian(header[ZeroPagesOffset..], (uint)zeroPages);
        Span<byte> name = header.Slice(BlockNameOffset, BlockNameLength);
        name.Clear();
        blockName.CopyTo(name);
        Span<byte> slots = header[HeaderFieldsLength..];
        for (int i = 0; i < offsets.Length; i++)
        {
            BinaryPrimitives.WriteUInt64BigEndian(slots[(i * sizeof(ulong))..], (ulong)offsets[i]);
        }

        slots[(offsets.Length * sizeof(ulong))..].Clear();
    }

    /// <summary>A block name as the packet carries it: UTF-8, at most 255 bytes (the field keeps a terminating NUL).</summary>
    public static byte[] EncodeBlockName(string name)
    {
        byte[] bytes = Encoding.UTF8.GetBytes(name);
        if (bytes.Length >= BlockNameLength)
        {
            throw new ArgumentException($"RAM block name '{name}' is longer than 255 bytes", nameof(name));
        }

        return bytes;
    }
}
