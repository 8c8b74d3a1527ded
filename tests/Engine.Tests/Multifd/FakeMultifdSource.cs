using System.Buffers.Binary;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Engine.Codecs;
using Engine.Migration;
using Engine.Multifd;
using Engine.Transport;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>A hand-driven multifd source against a real <see cref="MultifdDestination"/>: writes exactly the bytes a test wants.</summary>
internal sealed class FakeMultifdSource : IDisposable
{
    public const long BlockSize = 1L << 20;

    private readonly TcpListener _listener;
    private readonly int _port;
    private readonly List<NetworkStream> _channels = [];

    /// <summary>
    /// Starts the receiving side on a loopback listener: a <see cref="MultifdDestination"/> for <paramref name="multifd"/>,
    /// or <paramref name="receive"/> (given the listener, it accepts the connections itself), then connects the main channel.
    /// </summary>
    public FakeMultifdSource(MigrationParameters multifd, TimeSpan? connectTimeout = null, Func<TcpListener, DestinationResult>? receive = null)
    {
        _listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
        _port = ((IPEndPoint)_listener.LocalEndpoint).Port;
        var destination = new MultifdDestination(new DestinationOptions { Parameters = multifd, ReadTimeout = TimeSpan.FromSeconds(10) })
        {
            ChannelConnectTimeout = connectTimeout ?? TimeSpan.FromSeconds(10),
        };
        Incoming = Task.Run(() =>
        {
            if (receive is not null)
            {
                return receive(_listener);
            }

            using NetworkStream main = TcpTransport.Accept(_listener, TimeSpan.FromSeconds(10));
            return destination.Run(main, _listener);
        });
        Main = TcpTransport.Connect("127.0.0.1", _port, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        var writer = new MigrationStreamWriter(Main, leaveOpen: true);
        Writer = writer;
        writer.WriteFileHeader();
        writer.WriteConfiguration("pc-i440fx-7.2");
        writer.WriteRamSectionStart(2);
        writer.WriteRamBlockList([new RamBlockInfo("pc.ram", BlockSize)]);
        writer.Flush();
    }

    public Task<DestinationResult> Incoming { get; }

    public NetworkStream Main { get; }

    /// <summary>The main channel's writer, its RAM START section open after the block list.</summary>
    public MigrationStreamWriter Writer { get; }

    public NetworkStream Connect(byte[]? hello = null)
    {
        NetworkStream channel = TcpTransport.Connect("127.0.0.1", _port, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        _channels.Add(channel);
        if (hello is not null)
        {
            channel.Write(hello);
        }

        return channel;
    }

    public static byte[] Hello(byte id)
    {
        byte[] hello = new byte[MultifdFormat.HelloLength];
        MultifdFormat.WriteHello(hello, new byte[16], id);
        return hello;
    }

    /// <summary>
    /// A packet header for pages of pc.ram at <paramref name="offsets"/>; the last <paramref name="zeroPages"/> of them are
    /// QEMU 9.0+'s zero pages (no data). A packet with any page carries the method's bits, as QEMU's.
    /// </summary>
    public static byte[] Header(CompressMethod method, long[] offsets, int nextPacketSize, bool sync = false, int zeroPages = 0)
    {
        byte[] header = new byte[MultifdFormat.PacketHeaderLength];
        uint flags = (sync ? MultifdFormat.FlagSync : 0) | (offsets.Length > 0 ? MultifdFormat.CompressionFlag(method) : 0);
        MultifdFormat.WritePacketHeader(header, flags, offsets.Length - zeroPages, nextPacketSize, 0, "pc.ram"u8, offsets, zeroPages);
        return header;
    }

    /// <summary>QEMU 9.2+'s SYNC packet: flags exactly SYNC (0x1), every other field zero, pages_alloc and block name included.</summary>
    public static byte[] Sync92()
    {
        byte[] header = new byte[MultifdFormat.PacketHeaderLength];
        BinaryPrimitives.WriteUInt32BigEndian(header, MultifdFormat.Magic);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(4), MultifdFormat.Version);
        BinaryPrimitives.WriteUInt32BigEndian(header.AsSpan(MultifdFormat.FlagsOffset), MultifdFormat.FlagSync);
        return header;
    }

    /// <summary>Waits for the destination to give up and returns the channel error it names.</summary>
    public async Task<MultifdChannelException> ExpectChannelError()
    {
        Task done = await Task.WhenAny(Incoming, Task.Delay(TimeSpan.FromSeconds(20)));
        Assert.True(done == Incoming, "the destination did not stop within 20 s");
        MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => Incoming);
        MultifdChannelException channel = Assert.IsType<MultifdChannelException>(e.InnerException);
        Assert.Equal(EngineErrorKind.Stream, channel.Kind);
        Assert.Equal(channel.StreamOffset, e.StreamOffset);
        Assert.Contains($"byte offset {channel.StreamOffset}", e.Message);
        return channel;
    }

    /// <summary>What the destination wrote back on the main connection before it closed.</summary>
    public string ReadReply()
    {
        Main.ReadTimeout = 5000;
        var text = new MemoryStream();
        byte[] buffer = new byte[4096];
        int n;
        while ((n = Main.Read(buffer)) > 0)
        {
            text.Write(buffer, 0, n);
        }

        return Encoding.UTF8.GetString(text.ToArray());
    }

    public void Dispose()
    {
        foreach (NetworkStream channel in _channels)
        {
            channel.Dispose();
        }

        Main.Dispose();
        _listener.Dispose();
    }
}
