using System.Net;
using System.Net.Sockets;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Transport;

/// <summary>The one connection type: what it finds under a stream, its quiet shutdowns, its peer name and its watch.</summary>
public sealed class MigrationConnectionTests
{
    private static readonly TimeSpan Io = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(10);
    private static TestCertificates Certs => TestCertificates.Shared;

    [Fact]
    public void OfAnythingButAConnectionIsNull()
    {
        using var memory = new MemoryStream();
        Assert.Null(MigrationConnection.Of(memory));
        Assert.Null(MigrationConnection.Of(Stream.Null));
    }

    [Fact(Timeout = 30_000)]
    public async Task PlainConnectionReportsThePeerName()
    {
        await Task.Yield();
        (NetworkStream source, NetworkStream destination) = TcpTransport.CreateLoopbackPair(Io);
        using (source)
        using (destination)
        {
            MigrationConnection a = MigrationConnection.Of(source)!;
            MigrationConnection b = MigrationConnection.Of(destination)!;
            Assert.False(a.IsTls);
            Assert.Same(source, a.Stream);
            AssertNames(destination.Socket, a.PeerName);
            AssertNames(source.Socket, b.PeerName);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task TlsConnectionReportsThePeerNameAndTheSocketUnderIt()
    {
        (Stream client, Stream server) = await TlsPair();
        using (client)
        using (server)
        {
            MigrationConnection c = MigrationConnection.Of(client)!;
            MigrationConnection s = MigrationConnection.Of(server)!;
            Assert.True(c.IsTls);
            Assert.True(s.IsTls);
            Assert.Same(client, c.Stream);
            AssertNames(s.Socket, c.PeerName);
            AssertNames(c.Socket, s.PeerName);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ShutdownOfAClosedSocketIsQuiet()
    {
        await Task.Yield();
        (NetworkStream source, NetworkStream destination) = TcpTransport.CreateLoopbackPair(Io);
        using (destination)
        {
            MigrationConnection connection = MigrationConnection.Of(source)!;
            source.Dispose();
            connection.Shutdown();
            connection.Shutdown(SocketShutdown.Receive);
            Assert.False(connection.TryShutdownSend());
            Assert.ThrowsAny<ObjectDisposedException>(() => connection.ShutdownSend());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ShutdownWakesABlockedReadAndCancellationShutsDown()
    {
        (NetworkStream source, NetworkStream destination) = TcpTransport.CreateLoopbackPair(Io);
        using (source)
        using (destination)
        {
            MigrationConnection connection = MigrationConnection.Of(destination)!;
            using var cancel = new CancellationTokenSource();
            using CancellationTokenRegistration registration = connection.ShutdownWhenCancelled(cancel.Token, SocketShutdown.Receive);
            Task<int> read = Task.Run(() => destination.Read(new byte[16]));
            await cancel.CancelAsync();
            Assert.Equal(0, await read.WaitAsync(Long));

            // Receive only: the other way still works.
            destination.Write("ok"u8);
            Assert.Equal((byte)'o', (byte)source.ReadByte());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WatchFiresWhenThePlainPeerCloses()
    {
        await Task.Yield();
        (NetworkStream source, NetworkStream destination) = TcpTransport.CreateLoopbackPair(Io);
        using (source)
        {
            MigrationConnection connection = MigrationConnection.Of(source)!;
            Assert.False(connection.WaitForPeer(TimeSpan.Zero));
            destination.Dispose();
            Assert.True(connection.WaitForPeer(Long));
            Assert.True(connection.ReadPeer().Ended);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WatchReadsWhatThePlainPeerSaid()
    {
        await Task.Yield();
        (NetworkStream source, NetworkStream destination) = TcpTransport.CreateLoopbackPair(Io);
        using (source)
        using (destination)
        {
            MigrationConnection connection = MigrationConnection.Of(source)!;
            destination.Write("{\"status\":\"error\"}\n"u8);
            Assert.True(connection.WaitForPeer(Long));
            PeerSignal signal = connection.ReadPeer();
            Assert.False(signal.Ended);
            Assert.Null(signal.Failure);
            Assert.Equal("{\"status\":\"error\"}\n"u8.ToArray(), signal.Bytes.ToArray());
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task WatchReportsAResetAsAFailure()
    {
        await Task.Yield();
        (NetworkStream source, NetworkStream destination) = TcpTransport.CreateLoopbackPair(Io);
        using (source)
        using (destination)
        {
            MigrationConnection connection = MigrationConnection.Of(source)!;
            // The socket's own close, not the stream's (which shuts down first, a FIN): with linger 0 it sends RST.
            destination.Socket.LingerState = new LingerOption(true, 0);
            destination.Socket.Dispose();
            Assert.True(connection.WaitForPeer(Long));
            PeerSignal signal = connection.ReadPeer();
            Assert.False(signal.Ended);
            Assert.IsType<SocketException>(signal.Failure);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WatchFiresWhenTheTlsPeerCloses()
    {
        (Stream client, Stream server) = await TlsPair();
        using (client)
        {
            MigrationConnection connection = MigrationConnection.Of(client)!;
            Assert.False(connection.WaitForPeer(TimeSpan.FromMilliseconds(200))); // the server's TLS says nothing on its own
            TlsTransport.Close(server);
            Assert.True(connection.WaitForPeer(Long));
            Assert.True(connection.ReadPeer().Ended);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task WatchReadsWhatTheTlsPeerSaidWhileTheOwnerWrites()
    {
        (Stream client, Stream server) = await TlsPair();
        using (client)
        using (server)
        {
            MigrationConnection connection = MigrationConnection.Of(client)!;
            Assert.False(connection.WaitForPeer(TimeSpan.Zero));

            // The pending read does not stop the owner writing.
            client.Write("QEVM"u8);
            client.Flush();
            byte[] got = new byte[4];
            server.ReadExactly(got);
            Assert.Equal("QEVM"u8.ToArray(), got);

            server.Write("bye\n"u8);
            server.Flush();
            Assert.True(connection.WaitForPeer(Long));
            Assert.Equal("bye\n"u8.ToArray(), connection.ReadPeer().Bytes.ToArray());
        }
    }

    /// <summary>The name is the peer's address and port (a dual-mode client socket sees IPv4 as <c>[::ffff:127.0.0.1]</c>).</summary>
    private static void AssertNames(Socket peer, string name)
    {
        var local = (IPEndPoint)peer.LocalEndPoint!;
        Assert.Contains("127.0.0.1", name, StringComparison.Ordinal);
        Assert.EndsWith($":{local.Port}", name, StringComparison.Ordinal);
    }

    private static async Task<(Stream Client, Stream Server)> TlsPair()
    {
        (NetworkStream c, NetworkStream s) = TcpTransport.CreateLoopbackPair(Io);
        var server = new TlsOptions { Credentials = Certs.Server, HandshakeTimeout = Long };
        var client = new TlsOptions { Credentials = Certs.Client, HandshakeTimeout = Long };
        Task<Stream> serving = Task.Run<Stream>(() => TlsTransport.AuthenticateAsServer(s, server));
        Stream clientSide = TlsTransport.AuthenticateAsClient(c, client, IPAddress.Loopback.ToString());
        return (clientSide, await serving.WaitAsync(TimeSpan.FromSeconds(30)));
    }
}
