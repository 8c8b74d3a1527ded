using System.Buffers.Binary;
using Engine.Codecs;
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
    }

    [Fact(Timeout = 30_000)]
    public async Task QemuSyncPacketsWithStaleFieldsAndASyncOnAPacketWithPagesAreTaken()
    {
        // By hand, as QEMU 7.2 could send it: a setup SYNC, then in a PART section a ZERO record on the main channel and a
        // zstd packet whose SYNC flag rides on its pages, then at END a SYNC packet without pages that still carries the
        // previous packet's next_packet_size and block name and no compression bits (QEMU sets those only with pages).
        using var source = new FakeMultifdSource(new MultifdParameters { Channels = 1, Compression = CompressMethod.Zstd });
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
