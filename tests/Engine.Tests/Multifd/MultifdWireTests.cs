using System.Buffers.Binary;
using Engine.Codecs;
using Engine.Fuzz;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>The multifd layout in bytes, and QEMU 7.2's quirks a destination must take.</summary>
public sealed class MultifdWireTests
{
    [Fact]
    public void HelloAndPacketHeaderHaveQemusLayout()
    {
        Assert.Equal(64, MultifdFormat.HelloLength);
        Assert.Equal(128, MultifdFormat.PagesPerPacket);
        Assert.Equal(1344, MultifdFormat.PacketHeaderLength);

        byte[] hello = new byte[64];
        byte[] uuid = Enumerable.Range(1, 16).Select(i => (byte)i).ToArray();
        MultifdFormat.WriteHello(hello, uuid, 7);
        Assert.Equal("11223344" + "00000001" + Convert.ToHexString(uuid) + "07" + new string('0', 78), Convert.ToHexString(hello));
        Assert.Equal(7, MultifdFormat.ParseHello(hello, uuid, 8, out string? error, out _));
        Assert.Null(error);
        Assert.Equal(-1, MultifdFormat.ParseHello(hello, uuid, 7, out error, out int at));
        Assert.Equal(24, at);

        byte[] header = new byte[MultifdFormat.PacketHeaderLength];
        MultifdFormat.WritePacketHeader(header, MultifdFormat.FlagSync | MultifdFormat.CompressionFlag(CompressMethod.Zstd), 2, 300, 0x0102030405060708, "pc.ram"u8, [0x1000, 0x7000]);
        Assert.Equal("11223344" + "00000001" + "00000005" + "00000080" + "00000002" + "0000012C" + "0102030405060708", Convert.ToHexString(header, 0, 32));
        Assert.True(header.AsSpan(32, 32).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal("pc.ram"u8.ToArray(), header.AsSpan(64, 6).ToArray());
        Assert.True(header.AsSpan(70, 250).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0x1000UL, BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(320)));
        Assert.Equal(0x7000UL, BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(328)));
        Assert.True(header.AsSpan(336).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0x2u, MultifdFormat.CompressionFlag(CompressMethod.Zlib));
        Assert.Equal(0x4u, MultifdFormat.CompressionFlag(CompressMethod.Zstd));

        // QEMU 9.0+'s zero_pages at offset 32; the zero pages' offsets follow the normal ones.
        MultifdFormat.WritePacketHeader(header, MultifdFormat.CompressionFlag(CompressMethod.Zstd), 1, 300, 9, "pc.ram"u8, [0x1000, 0x9000, 0x3000], zeroPages: 2);
        Assert.Equal("00000001" + "0000012C" + "0000000000000009" + "00000002", Convert.ToHexString(header, 16, 20));
        Assert.True(header.AsSpan(36, 28).IndexOfAnyExcept((byte)0) < 0);
        Assert.Equal(0x3000UL, BinaryPrimitives.ReadUInt64BigEndian(header.AsSpan(336)));
        Assert.True(MultifdPacketHeader.TryParse(header, CompressMethod.Zstd, out MultifdPacketHeader packet, out _, out _));
        Assert.Equal((1, 2, 3), (packet.NormalPages, packet.ZeroPages, packet.TotalPages));

        // The flag bits QEMU 10.0 defines (multifd.h).
        Assert.Equal((0x3Eu, 0x08u, 0x10u, 0x20u, 0x40u), (MultifdFormat.CompressionMask, MultifdFormat.FlagQpl, MultifdFormat.FlagUadk, MultifdFormat.FlagQatzip, MultifdFormat.FlagDeviceState));
    }

    [Fact]
    public void Qemu9PacketBytesWrittenByHandParse()
    {
        // The 9.0+ layout (multifd.h) in bytes, independent of Engine's writer: a zstd packet with one normal page at
        // 0x3000 and two zero pages at 0x9000 and 0x1000 (unsorted), then 9.2's SYNC.
        string fields = "11223344" + "00000001" + "00000004" + "00000080" + "00000001" + "0000012C" + "0000000000000007" + "00000002";
        byte[] header = new byte[MultifdFormat.PacketHeaderLength];
        Convert.FromHexString(fields).CopyTo(header, 0);
        "pc.ram"u8.CopyTo(header.AsSpan(64));
        Convert.FromHexString("0000000000003000" + "0000000000009000" + "0000000000001000").CopyTo(header, 320);
        long[] offsets = new long[MultifdFormat.PagesPerPacket];
        Assert.True(MultifdPacketParser.TryParse(header, CompressMethod.Zstd, ["pc.ram"u8.ToArray()], [FakeMultifdSource.BlockSize], offsets, out MultifdPacketHeader packet, out _, out string? error, out _), error);
        Assert.Equal((1, 2, 300, 7UL, false), (packet.NormalPages, packet.ZeroPages, packet.NextPacketSize, packet.PacketNumber, packet.IsSync));
        Assert.Equal([0x3000L, 0x9000L, 0x1000L], offsets[..3]);

        byte[] sync = new byte[MultifdFormat.PacketHeaderLength];
        Convert.FromHexString("11223344" + "00000001" + "00000001").CopyTo(sync, 0);
        Assert.Equal(FakeMultifdSource.Sync92(), sync);
        Assert.True(MultifdPacketHeader.TryParse(sync, CompressMethod.Zstd, out packet, out error, out _), error);
        Assert.True(packet.IsSync);
        Assert.Equal(0, packet.TotalPages);
    }

    [Theory]
    [InlineData(CompressMethod.None)]
    [InlineData(CompressMethod.Zstd)]
    public void Qemu92SyncPacketAndZeroOnlyPacketParse(CompressMethod method)
    {
        // 9.2's SYNC: flags exactly 0x1, pages_alloc 0, no block name; taken by a destination of any method.
        byte[] sync = FakeMultifdSource.Sync92();
        Assert.True(MultifdPacketHeader.TryParse(sync, method, out MultifdPacketHeader packet, out string? error, out _), error);
        Assert.True(packet.IsSync);
        Assert.Equal((0, 0, 0), (packet.PagesAlloc, packet.NormalPages, packet.ZeroPages));

        // Zero pages only: next_packet_size 0 with the method's bits.
        byte[] zeroOnly = FakeMultifdSource.Header(method, [0x5000, 0x1000], 0, zeroPages: 2);
        long[] offsets = new long[MultifdFormat.PagesPerPacket];
        Assert.True(MultifdPacketParser.TryParse(zeroOnly, method, ["pc.ram"u8.ToArray()], [FakeMultifdSource.BlockSize], offsets, out packet, out int block, out error, out _), error);
        Assert.Equal((0, 2, 0, 0), (packet.NormalPages, packet.ZeroPages, packet.NextPacketSize, block));
        Assert.Equal([0x5000L, 0x1000L], offsets[..2]);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(CompressMethod.None)]
    [InlineData(CompressMethod.Zlib)]
    [InlineData(CompressMethod.Zstd)]
    public async Task ZeroPagesInPacketsLandByteExact(CompressMethod method)
    {
        // QEMU 9.0+ (zero-page-detection=multifd) with SYNC before each EOS: section 1 writes data to pages 1, 2 and 3 and
        // names 7 and 5 zero (never written); section 2 writes page 4 and names 3 and 1 zero after it (unsorted, over data),
        // then a packet of zero pages only names 2. Every SYNC is 9.2's.
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = method });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        using PacketCompressor? compressor = ZstdStreamPacketCompressor.CreateQemuShaped(method, 1);
        byte[] Page(int seed) => Enumerable.Range(0, PageSizes.PageSize).Select(i => (byte)((i * seed) + 1)).ToArray();

        channel.Write(FakeMultifdSource.Sync92());
        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(SectionType.Part, 2);
        source.Writer.Flush();
        channel.Write(DataPacket(method, compressor, [Page(1), Page(2), Page(3)], [0x1000, 0x2000, 0x3000, 0x7000, 0x5000], zeroPages: 2));
        channel.Write(FakeMultifdSource.Sync92());
        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(SectionType.Part, 2);
        source.Writer.Flush();
        channel.Write(DataPacket(method, compressor, [Page(4)], [0x4000, 0x3000, 0x1000], zeroPages: 2));
        channel.Write(FakeMultifdSource.Header(method, [0x2000], 0, zeroPages: 1));
        channel.Write(FakeMultifdSource.Sync92());
        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(SectionType.End, 2);
        channel.Write(FakeMultifdSource.Sync92());
        source.Writer.EndRamSection();
        source.Writer.WriteEof();
        source.Writer.Flush();
        source.Main.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        channel.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        DestinationResult result = await source.Incoming;
        using (result.Memory)
        {
            Engine.Memory.RamBlock block = result.Memory.Blocks[0];
            byte[] expected = new byte[FakeMultifdSource.BlockSize];
            Page(4).CopyTo(expected, 0x4000);
            Assert.True(block.GetSpan(0, (int)FakeMultifdSource.BlockSize).SequenceEqual(expected), "guest memory differs: the zero pages over data must be cleared, page 4 written");
            Assert.Equal(5, result.ZeroPages);
            Assert.Equal(4, method == CompressMethod.None ? result.RawPages : result.CompressedPages);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task QemuSyncPacketsWithStaleFieldsAndASyncOnAPacketWithPagesAreTaken()
    {
        // By hand, as QEMU 7.2 could send it: a setup SYNC, then in a PART section a ZERO record on the main channel and a
        // zstd packet whose SYNC flag rides on its pages, then at END a SYNC packet without pages that still carries the
        // previous packet's next_packet_size and block name and no compression bits (QEMU sets those only with pages).
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.Zstd });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        byte[] pages = new byte[2 * PageSizes.PageSize];
        pages.AsSpan(0, PageSizes.PageSize).Fill(0x11);
        "hello, multifd"u8.CopyTo(pages.AsSpan(PageSizes.PageSize));
        byte[] payload = Compress(pages, 2);

        channel.Write(FakeMultifdSource.Header(CompressMethod.Zstd, [], 0, sync: true));
        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(SectionType.Part, 2);
        source.Writer.WriteZeroPage(0, 0x3000);
        source.Writer.EndRamSection();
        source.Writer.Flush();
        channel.Write(FakeMultifdSource.Header(CompressMethod.Zstd, [0x1000, 0x2000], payload.Length, sync: true));
        channel.Write(payload);

        byte[] stale = FakeMultifdSource.Header(CompressMethod.Zstd, [0x1000, 0x2000], payload.Length, sync: true);
        BinaryPrimitives.WriteUInt32BigEndian(stale.AsSpan(8), MultifdFormat.FlagSync);
        BinaryPrimitives.WriteUInt32BigEndian(stale.AsSpan(16), 0);
        channel.Write(stale);
        source.Writer.WriteSectionHeader(SectionType.End, 2);
        source.Writer.EndRamSection();
        source.Writer.WriteEof();
        source.Writer.Flush();
        source.Main.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        channel.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);

        DestinationResult result = await source.Incoming;
        using (result.Memory)
        {
            Engine.Memory.RamBlock block = result.Memory.Blocks[0];
            Assert.True(block.GetPage(0x1000).SequenceEqual(pages.AsSpan(0, PageSizes.PageSize)));
            Assert.True(block.GetPage(0x2000).SequenceEqual(pages.AsSpan(PageSizes.PageSize)));
            Assert.True(block.GetSpan(0, (int)FakeMultifdSource.BlockSize).Count((byte)0) == FakeMultifdSource.BlockSize - PageSizes.PageSize - 14);
            Assert.Equal(1, result.ZeroPages);
            Assert.Equal(2, result.CompressedPages);
        }

        Assert.StartsWith(MigrationReply.ReceivedLine, source.ReadReply());
    }

    /// <summary>A packet header and its payload: <paramref name="pages"/> at the first offsets, then <paramref name="zeroPages"/> zero pages.</summary>
    private static unsafe byte[] DataPacket(CompressMethod method, PacketCompressor? compressor, byte[][] pages, long[] offsets, int zeroPages)
    {
        byte[] data = pages.SelectMany(p => p).ToArray();
        byte[] payload = data;
        if (compressor is not null)
        {
            byte[] output = new byte[PacketCompressor.OutputBound];
            fixed (byte* input = data)
            fixed (byte* o = output)
            {
                payload = output.AsSpan(0, compressor.CompressPacket(input, pages.Length, o)).ToArray();
            }
        }

        return [.. FakeMultifdSource.Header(method, offsets, payload.Length, zeroPages: zeroPages), .. payload];
    }

    private static unsafe byte[] Compress(byte[] pages, int count)
    {
        byte[] output = new byte[PacketCompressor.OutputBound];
        using PacketCompressor compressor = PacketCompressor.Create(CompressMethod.Zstd, 1)!;
        fixed (byte* input = pages)
        fixed (byte* o = output)
        {
            return output.AsSpan(0, compressor.CompressPacket(input, count, o)).ToArray();
        }
    }
}
