using System.Buffers.Binary;
using Engine.Codecs;
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
        var multifd = new MultifdParameters { Channels = 2, Compression = CompressMethod.Zstd };
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
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 3 });
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
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 2 }, connectTimeout: TimeSpan.FromMilliseconds(500));
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
    public async Task BadPacketHeaderIsRefusedAtItsField(string field, int offset, string message)
    {
        var multifd = new MultifdParameters { Channels = 2, Compression = CompressMethod.Zstd };
        using var source = new FakeMultifdSource(multifd);
        source.Connect(FakeMultifdSource.Hello(0));
        var channel = source.Connect(FakeMultifdSource.Hello(1));
        byte[] header = FakeMultifdSource.Header(CompressMethod.Zstd, [0, 4096], 100);
        Span<byte> h = header;
        switch (field)
        {
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
    public async Task CorruptZstdPacketIsRefusedInsideItsPayload()
    {
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 1, Compression = CompressMethod.Zstd });
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
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 1, Compression = CompressMethod.Zlib });
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
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 1, Compression = method });
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
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 1, Compression = method });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(method, [0], payload.Length));
        channel.Write(payload);
        MultifdChannelException e = await source.ExpectChannelError();
        Assert.Contains("holds more than the packet's pages", e.Message);
    }

    [Fact(Timeout = 30_000)]
    public async Task ChannelClosingBeforeItsSyncFailsTheEos()
    {
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 2 });
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
