using Engine.Codecs;
using Engine.Memory;
using Engine.Multifd;

namespace Engine.Fuzz;

/// <summary>
/// The receive channel's packet path (<see cref="MultifdPacketParser"/>, then the channel's decompression stream writing
/// page by page into guest memory) over bytes in memory instead of a connection: what the fuzzing harness and the test
/// suite's fuzz smoke run drive. The input is one selector byte (bits 0–1: 0 none, 1 zlib, 2 and 3 zstd), then packets
/// back to back, each a 1,344-byte header and its payload; a packet's zero pages (QEMU 9.0+) are cleared as the channel does.
/// </summary>
/// <remarks>
/// The guest is two blocks (<c>pc.ram</c>, 16 pages, and <c>vga.vram</c>, 4 pages) inside one buffer with canary bands
/// before, between and after them; any changed canary is a write outside guest memory and throws
/// <see cref="InvalidOperationException"/>, as does any exception other than a rejection. Each run starts a fresh
/// decompression stream, as a new channel does.
/// </remarks>
internal static unsafe class MultifdPacketProbe
{
    private const int Guard = 4096;
    private const byte Canary = 0xA5;
    private static readonly byte[][] s_names = ["pc.ram"u8.ToArray(), "vga.vram"u8.ToArray()];
    private static readonly long[] s_sizes = [16 * PageSizes.PageSize, 4 * PageSizes.PageSize];

    /// <summary>Runs one input; true when every packet in it was accepted, false at the first rejected one.</summary>
    public static bool Run(ReadOnlySpan<byte> input)
    {
        if (input.IsEmpty)
        {
            return false;
        }

        CompressMethod method = (input[0] & 3) switch { 0 => CompressMethod.None, 1 => CompressMethod.Zlib, _ => CompressMethod.Zstd };
        long total = Guard + s_sizes[0] + Guard + s_sizes[1] + Guard;
        byte[] memory = new byte[total];
        memory.AsSpan().Fill(Canary);
        long[] starts = [Guard, Guard + s_sizes[0] + Guard];
        foreach (long start in starts)
        {
            memory.AsSpan((int)start, (int)s_sizes[starts.AsSpan().IndexOf(start)]).Clear();
        }

        Span<long> offsets = stackalloc long[MultifdFormat.PagesPerPacket];
        using PacketDecompressor? decompressor = PacketDecompressor.Create(method);
        bool accepted = true;
        fixed (byte* guest = memory)
        fixed (byte* data = input)
        {
            int position = 1;
            while (position < input.Length)
            {
                // As the channel: the 12 common bytes are checked alone first (a device-state packet is shorter than 1,344).
                if (input.Length - position < MultifdFormat.CommonHeaderLength
                    || !MultifdPacketHeader.TryParseCommon(input.Slice(position, MultifdFormat.CommonHeaderLength), out _, out _, out _)
                    || input.Length - position < MultifdFormat.PacketHeaderLength
                    || !MultifdPacketParser.TryParse(input.Slice(position, MultifdFormat.PacketHeaderLength), method, s_names, s_sizes, offsets, out MultifdPacketHeader packet, out int block, out _, out _))
                {
                    accepted = false;
                    break;
                }

                position += MultifdFormat.PacketHeaderLength;
                if (packet.TotalPages == 0)
                {
                    continue;
                }

                byte* blockBase = guest + starts[block];
                for (int i = packet.NormalPages; i < packet.TotalPages; i++)
                {
                    var page = new Span<byte>(blockBase + offsets[i], PageSizes.PageSize);
                    if (!ZeroPage.IsZero(page))
                    {
                        page.Clear();
                    }
                }

                int count = packet.NormalPages;
                if (count == 0)
                {
                    continue;
                }
                if (decompressor is null)
                {
                    if (input.Length - position < count * PageSizes.PageSize)
                    {
                        accepted = false;
                        break;
                    }

                    for (int i = 0; i < count; i++)
                    {
                        Buffer.MemoryCopy(data + position + (i * PageSizes.PageSize), blockBase + offsets[i], PageSizes.PageSize, PageSizes.PageSize);
                    }

                    position += count * PageSizes.PageSize;
                    continue;
                }

                int size = packet.NextPacketSize;
                if (input.Length - position < size)
                {
                    accepted = false;
                    break;
                }

                decompressor.Begin(data + position, size);
                bool ok = true;
                for (int i = 0; i < count && ok; i++)
                {
                    ok = decompressor.DecodePage(blockBase + offsets[i], last: i == count - 1);
                }

                position += size;
                if (!ok || !decompressor.End())
                {
                    accepted = false;
                    break;
                }
            }
        }

        CheckGuards(memory, 0, Guard);
        CheckGuards(memory, Guard + s_sizes[0], Guard);
        CheckGuards(memory, total - Guard, Guard);
        return accepted;
    }

    /// <summary>
    /// Valid inputs for each method. QEMU 7.2's packets: two on one stream (the second relying on the first's history), a
    /// packet in the second block, a SYNC. QEMU 9.0+'s: normal pages then unsorted zero pages (one over a page the first
    /// packet wrote), a packet of zero pages only (with the method's bits), and 9.2's SYNC (pages_alloc 0, flags 0x1).
    /// And Engine's zstd: a frame per packet.
    /// </summary>
    public static IEnumerable<(string Name, byte[] Input)> Seeds()
    {
        foreach (CompressMethod method in new[] { CompressMethod.None, CompressMethod.Zlib, CompressMethod.Zstd })
        {
            using var output = new MemoryStream();
            output.WriteByte((byte)method);
            using PacketCompressor? compressor = ZstdStreamPacketCompressor.CreateQemuShaped(method, 1);
            WritePacket(output, compressor, method, "pc.ram", [0, 0x3000, 0x5000], seed: 1, sync: false);
            WritePacket(output, compressor, method, "pc.ram", [0x1000, 0x2000], seed: 1, sync: false);
            WritePacket(output, compressor, method, "vga.vram", [0x1000], seed: 2, sync: true);
            WritePacket(output, compressor, method, "", [], seed: 0, sync: true);
            yield return ($"multifd-{MultifdPacketHeader.MethodName(method)}.bin", output.ToArray());
        }

        foreach (CompressMethod method in new[] { CompressMethod.None, CompressMethod.Zlib, CompressMethod.Zstd })
        {
            using var output = new MemoryStream();
            output.WriteByte((byte)method);
            using PacketCompressor? compressor = ZstdStreamPacketCompressor.CreateQemuShaped(method, 1);
            WritePacket(output, compressor, method, "pc.ram", [0x2000, 0x6000, 0x5000], seed: 3, sync: false, zeroPages: 1);
            WritePacket(output, compressor, method, "pc.ram", [0x1000, 0x7000, 0x2000, 0x4000, 0x3000], seed: 3, sync: false, zeroPages: 3);
            WritePacket(output, compressor, method, "vga.vram", [0x3000, 0], seed: 0, sync: false, zeroPages: 2);
            WriteSync92(output);
            yield return ($"multifd-{MultifdPacketHeader.MethodName(method)}-qemu9.bin", output.ToArray());
        }

        // Engine's zstd: a frame per packet, so the stream's frames end and begin again at packet boundaries.
        using (var output = new MemoryStream())
        {
            output.WriteByte((byte)CompressMethod.Zstd);
            using PacketCompressor? compressor = PacketCompressor.Create(CompressMethod.Zstd, 1);
            WritePacket(output, compressor, CompressMethod.Zstd, "pc.ram", [0, 0x3000, 0x5000], seed: 1, sync: false);
            WritePacket(output, compressor, CompressMethod.Zstd, "pc.ram", [0x1000, 0x2000], seed: 1, sync: false);
            WritePacket(output, compressor, CompressMethod.Zstd, "", [], seed: 0, sync: true);
            yield return ("multifd-zstd-engine.bin", output.ToArray());
        }
    }

    /// <summary>QEMU 9.2's SYNC packet: flags exactly SYNC, every other field zero (pages_alloc too).</summary>
    private static void WriteSync92(Stream output)
    {
        byte[] header = new byte[MultifdFormat.PacketHeaderLength];
        MultifdFormat.WritePacketHeader(header, MultifdFormat.FlagSync, 0, 0, 0, [], []);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(MultifdFormat.PagesAllocOffset), 0);
        output.Write(header);
    }

    private static void WritePacket(Stream output, PacketCompressor? compressor, CompressMethod method, string block, long[] offsets, int seed, bool sync, int zeroPages = 0)
    {
        int normal = offsets.Length - zeroPages;
        byte[] pages = new byte[normal * PageSizes.PageSize];
        var random = new Random(seed);
        for (int i = 0; i < pages.Length; i += 64)
        {
            // Text-like, repetitive content, so the second packet compresses against the first's history.
            pages[i + random.Next(64)] = (byte)('a' + random.Next(8));
        }

        byte[] payload = pages;
        if (compressor is not null && normal > 0)
        {
            payload = new byte[PacketCompressor.OutputBound];
            fixed (byte* p = pages)
            fixed (byte* o = payload)
            {
                payload = payload.AsSpan(0, compressor.CompressPacket(p, normal, o)).ToArray();
            }
        }

        byte[] header = new byte[MultifdFormat.PacketHeaderLength];
        uint flags = (sync ? MultifdFormat.FlagSync : 0) | (offsets.Length > 0 ? MultifdFormat.CompressionFlag(method) : 0);
        MultifdFormat.WritePacketHeader(header, flags, normal, normal > 0 ? payload.Length : 0, 0, System.Text.Encoding.UTF8.GetBytes(block), offsets, zeroPages);
        output.Write(header);
        if (normal > 0)
        {
            output.Write(payload);
        }
    }

    private static void CheckGuards(byte[] memory, long start, int length)
    {
        int bad = memory.AsSpan((int)start, length).IndexOfAnyExcept(Canary);
        if (bad >= 0)
        {
            throw new InvalidOperationException($"a packet wrote outside guest memory, at buffer byte {start + bad}");
        }
    }
}
