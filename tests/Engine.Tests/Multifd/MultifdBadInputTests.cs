using Engine.Migration;
using System.Buffers.Binary;
using Engine.Codecs;
using Engine.Memory;
using Engine.Multifd;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// A multifd destination given bad input: each case ends with a <see cref="MultifdChannelException"/> naming the channel
/// and the byte offset of the bad field in that connection, every thread stopped, the memory freed, and the source told
/// on the main connection.
/// </summary>
public sealed class MultifdBadInputTests
{
    private const int Header = MultifdFormat.HelloLength; // a channel's first packet starts after its hello

    [Theory(Timeout = 30_000)]
    [InlineData("magic", 0)]
    [InlineData("version", 4)]
    [InlineData("uuid", 8)]
    [InlineData("id", 24)]
    public async Task BadHelloIsRefusedAtItsField(string field, int offset)
    {
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
        using var source = new FakeMultifdSource(multifd);
        byte[] hello = FakeMultifdSource.Hello(0);
        switch (field)
        {
            case "magic": hello[0] = 0x55; break;
            case "version": hello[7] = 2; break;
            case "uuid": hello[8] = 1; break;
            case "id": hello[24] = 2; break;
        }

        source.Connect(hello);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(offset, e.StreamOffset);
        Assert.Contains(field == "id" ? "channel id 2 is out of range" : field == "uuid" ? "UUID" : field, e.Message);
        Assert.Contains("the destination discarded the stream", source.ReadReply());
    }

    [Fact(Timeout = 30_000)]
    public async Task RepeatedChannelIdIsRefused()
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 3 });
        source.Connect(FakeMultifdSource.Hello(1));
        source.Connect(FakeMultifdSource.Hello(1));
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(1, e.Channel);
        Assert.Equal(24, e.StreamOffset);
        Assert.Contains("repeats channel id 1", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task ChannelThatNeverConnectsIsNamed()
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 2 }, connectTimeout: TimeSpan.FromMilliseconds(500));
        source.Connect(FakeMultifdSource.Hello(0));
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(1, e.Channel);
        Assert.Contains("never connected: 1 of 2 channels", e.Message);
    }

    [Theory(Timeout = 30_000)]
    [InlineData("magic", 0, "packet magic")]
    [InlineData("version", 4, "packet version")]
    [InlineData("pages_alloc", 12, "pages_alloc 129")]
    [InlineData("normal_pages", 16, "normal_pages 2 is more than pages_alloc 1")]
    [InlineData("next_packet_size", 20, "next_packet_size 1048577")]
    [InlineData("method", 8, "name zlib, but this destination's multifd-compression is zstd")]
    [InlineData("block", 64, "unknown RAM block 'pc.rom'")]
    [InlineData("offset", 320 + 8, "outside RAM block 'pc.ram'")]
    [InlineData("unaligned", 320, "not page aligned")]
    [InlineData("qpl", 8, "the packet is compressed with qpl (flag 0x08), which Engine cannot decode; set multifd-compression to none, zlib or zstd on the source")]
    [InlineData("uadk", 8, "the packet is compressed with uadk (flag 0x10), which Engine cannot decode")]
    [InlineData("qatzip", 8, "the packet is compressed with qatzip (flag 0x20), which Engine cannot decode")]
    [InlineData("unknown bit", 8, "flags 0x84 carry bits 0x80 that QEMU")]
    [InlineData("no method", 8, "compression bits 0x06 name no method")]
    [InlineData("zero_pages", 32, "zero_pages 127 is more than pages_alloc 128 less normal_pages 2")]
    [InlineData("zero offset", 320 + 24, "zero page offset (zero page 1 of 2) 0x100000 (slot 3) is outside RAM block 'pc.ram'")]
    [InlineData("zero unaligned", 320 + 16, "zero page offset (zero page 0 of 2) 0x2001 (slot 2)")]
    [InlineData("zero-only method", 8, "name zlib, but this destination's multifd-compression is zstd")]
    [InlineData("zero-only block", 64, "unknown RAM block 'pc.rom'")]
    public async Task BadPacketHeaderIsRefusedAtItsField(string field, int offset, string message)
    {
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
        using var source = new FakeMultifdSource(multifd);
        source.Connect(FakeMultifdSource.Hello(0));
        var channel = source.Connect(FakeMultifdSource.Hello(1));
        byte[] header = field.StartsWith("zero", StringComparison.Ordinal)
            ? FakeMultifdSource.Header(CompressMethod.Zstd, [0, 4096, 0x2000, 0x3000], 100, zeroPages: 2) // QEMU 9.0+: two normal, two zero
            : FakeMultifdSource.Header(CompressMethod.Zstd, [0, 4096], 100);
        Span<byte> h = header;
        switch (field)
        {
            case "qpl": BinaryPrimitives.WriteUInt32BigEndian(h[8..], MultifdFormat.FlagQpl); break;
            case "uadk": BinaryPrimitives.WriteUInt32BigEndian(h[8..], MultifdFormat.FlagUadk); break;
            case "qatzip": BinaryPrimitives.WriteUInt32BigEndian(h[8..], MultifdFormat.FlagQatzip); break;
            case "unknown bit": BinaryPrimitives.WriteUInt32BigEndian(h[8..], 0x84); break;
            case "no method": BinaryPrimitives.WriteUInt32BigEndian(h[8..], 0x06); break;
            case "zero_pages": BinaryPrimitives.WriteUInt32BigEndian(h[32..], 127); break;
            case "zero offset": BinaryPrimitives.WriteUInt64BigEndian(h[(320 + 24)..], FakeMultifdSource.BlockSize); break;
            case "zero unaligned": BinaryPrimitives.WriteUInt64BigEndian(h[(320 + 16)..], 0x2001); break;
            case "zero-only method":
            case "zero-only block":
                // A packet of zero pages only (normal_pages 0, next_packet_size 0), as QEMU 9.0+ sends with the method's bits.
                header = FakeMultifdSource.Header(CompressMethod.Zstd, [0x2000, 0x3000], 0, zeroPages: 2);
                h = header;
                if (field == "zero-only method")
                {
                    BinaryPrimitives.WriteUInt32BigEndian(h[8..], MultifdFormat.CompressionFlag(CompressMethod.Zlib));
                }
                else
                {
                    h[64 + 4] = (byte)'o';
                }

                break;
            case "magic": h[0] = 0; break;
            case "version": BinaryPrimitives.WriteUInt32BigEndian(h[4..], 7); break;
            case "pages_alloc": BinaryPrimitives.WriteUInt32BigEndian(h[12..], 129); break;
            case "normal_pages": BinaryPrimitives.WriteUInt32BigEndian(h[12..], 1); break;
            case "next_packet_size": BinaryPrimitives.WriteUInt32BigEndian(h[20..], MultifdFormat.MaxCompressedPayload + 1); break;
            case "method": BinaryPrimitives.WriteUInt32BigEndian(h[8..], MultifdFormat.CompressionFlag(CompressMethod.Zlib)); break;
            case "block": h[64 + 4] = (byte)'o'; break;
            case "offset": BinaryPrimitives.WriteUInt64BigEndian(h[(320 + 8)..], FakeMultifdSource.BlockSize); break;
            case "unaligned": BinaryPrimitives.WriteUInt64BigEndian(h[320..], 100); break;
        }

        channel.Write(header);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(1, e.Channel);
        Assert.Equal(Header + offset, e.StreamOffset);
        Assert.Contains(message, e.Message);
        Assert.Contains($"multifd channel 1, byte offset {Header + offset}", source.ReadReply());
    }

    [Fact(Timeout = 30_000)]
    public async Task DeviceStatePacketIsRefusedByNameFromItsFirstTwelveBytes()
    {
        // QEMU 10.0's MultiFDPacketDeviceState_t is 276 bytes, then its data: the refusal must not wait for 1,344 bytes
        // (the connection stays open, so a reader that did would hang until its timeout).
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.None });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        byte[] packet = new byte[276 + 16];
        BinaryPrimitives.WriteUInt32BigEndian(packet, MultifdFormat.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(4), MultifdFormat.Version);
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(8), MultifdFormat.FlagDeviceState);
        "0000:00:05.0/vfio"u8.CopyTo(packet.AsSpan(12));
        BinaryPrimitives.WriteUInt32BigEndian(packet.AsSpan(272), 16);
        channel.Write(packet);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(0, e.Channel);
        Assert.Equal(Header + 8, e.StreamOffset);
        Assert.Contains("device-state packet (0x40)", e.Message);
        Assert.Contains("VFIO device's state", e.Message);
        Assert.Contains("Engine cannot carry", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task ConnectionEndingInsideTheCommonHeaderIsNamed()
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.None });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Sync92().AsSpan(0, 7));
        channel.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(Header + 7, e.StreamOffset);
        Assert.Contains("ended inside a packet header (7 of 1344 bytes)", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task CorruptZstdPacketIsRefusedInsideItsPayload()
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.Zstd });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(CompressMethod.Zstd, [8192], 64));
        channel.Write(Enumerable.Range(0, 64).Select(i => (byte)(i * 37)).ToArray());
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(0, e.Channel);
        Assert.InRange(e.StreamOffset!.Value, Header + MultifdFormat.PacketHeaderLength, Header + MultifdFormat.PacketHeaderLength + 64);
        Assert.Contains("zstd decompression failed", e.Message);
        Assert.Contains("offset 0x2000", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task TruncatedCompressedPacketIsRefusedWhereTheConnectionEnded()
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.Zlib });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(CompressMethod.Zlib, [0], 1000));
        channel.Write(new byte[10]);
        channel.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(Header + MultifdFormat.PacketHeaderLength + 10, e.StreamOffset);
        Assert.Contains("ended inside a compressed packet (10 of next_packet_size 1000 bytes)", e.Message);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(CompressMethod.Zlib)]
    [InlineData(CompressMethod.Zstd)]
    public async Task CompressedDataShortOfItsPagesIsRefused(CompressMethod method)
    {
        // A valid stream holding one page, in a packet that claims two.
        byte[] payload = CompressOnePage(method);
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = method });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(method, [0, 4096], payload.Length));
        channel.Write(payload);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Contains("page 1 of 2", e.Message);
        Assert.Contains("truncated or corrupt", e.Message);
    }

    [Theory(Timeout = 30_000)]
    [InlineData(CompressMethod.Zlib)]
    [InlineData(CompressMethod.Zstd)]
    public async Task CompressedDataBeyondItsPagesIsRefused(CompressMethod method)
    {
        // Two pages of data in a packet that claims one: never more than the packet's pages is written.
        byte[] payload = CompressPages(method, 2);
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = method });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(method, [0], payload.Length));
        channel.Write(payload);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Contains("holds more than the packet's pages", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task ChannelClosingBeforeItsSyncFailsTheEos()
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 2 });
        source.Connect(FakeMultifdSource.Hello(0)).Write(FakeMultifdSource.Header(CompressMethod.None, [], 0, sync: true));
        source.Connect(FakeMultifdSource.Hello(1)).Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        source.Main.Write([0, 0, 0, 0, 0, 0, 0, 0x10]); // EOS: the destination waits for both SYNCs
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Equal(1, e.Channel);
        Assert.Equal(Header, e.StreamOffset);
        Assert.Contains("ended before the SYNC", e.Message);
    }

    private static unsafe byte[] CompressPages(CompressMethod method, int count)
    {
        byte[] pages = new byte[count * PageSizes.PageSize];
        new Random(5).NextBytes(pages.AsSpan(0, 100));
        if (count > 1)
        {
            new Random(6).NextBytes(pages.AsSpan(PageSizes.PageSize, 100));
        }

        byte[] output = new byte[PacketCompressor.OutputBound];
        using PacketCompressor compressor = PacketCompressor.Create(method, 1)!;
        fixed (byte* input = pages)
        fixed (byte* o = output)
        {
            return output.AsSpan(0, compressor.CompressPacket(input, count, o)).ToArray();
        }
    }

    private static byte[] CompressOnePage(CompressMethod method) => CompressPages(method, 1);
}
