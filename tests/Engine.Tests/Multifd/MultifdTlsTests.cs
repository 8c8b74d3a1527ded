using System.Net;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Migration;
using Engine.Multifd;
using Engine.Tests.Transport;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// multifd over TLS, as QEMU runs it: the handshake right after the TCP connect on the main connection and on every
/// channel. Byte-exact arrival, and the refusals of a channel (plaintext, a certificate not trusted) naming it on both sides.
/// </summary>
public sealed class MultifdTlsTests
{
    private static TestCertificates Certs => TestCertificates.Shared;

    private static TlsOptions Server => new() { Credentials = Certs.Server, AuthorizedSubjects = ["CN=client,O=Engine"] };

    private static TlsOptions Client => new() { Credentials = Certs.Client };

    [Theory(Timeout = 120_000)]
    [InlineData(CompressMethod.Zstd, 2)]
    [InlineData(CompressMethod.None, 4)]
    public async Task AGuestUnderWritesArrivesByteExactWithTlsOnEveryChannel(CompressMethod method, int channels)
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 12L << 20), new("vga.vram", 4L << 20)], new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        guest.StartWriters();
        var parameters = new MigrationParameters { MaxBandwidth = 64L << 20 };
        var multifd = new MigrationParameters { MultifdChannels = channels, MultifdCompression = method, MultifdZstdLevel = 1 };
        (MigrationResult source, DestinationResult destination, MultifdSource migration) = await MultifdLoopback.Migrate(guest, parameters, multifd, Server, Client);
        using (destination.Memory)
        {
            Assert.Equal(MigrationStatus.Completed, source.Info.Status);
            Assert.True(source.ChecksumsMatch, "checksums differ");
            for (int b = 0; b < 2; b++)
            {
                long size = guest.Memory.Blocks[b].Size;
                Assert.True(guest.Memory.Blocks[b].GetSpan(0, (int)size).SequenceEqual(destination.Memory.Blocks[b].GetSpan(0, (int)size)), $"block {b} differs");
            }

            long carried = method == CompressMethod.None ? destination.RawPages : destination.CompressedPages;
            Assert.True(carried > 0, "no page travelled on a channel");
            Assert.True(migration.Packets >= channels, $"{migration.Packets} packets");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task APlaintextChannelToATlsDestinationIsRefusedNamingTheChannel()
    {
        // The main connection runs TLS; the channels do not (a source that forgot them).
        (Exception sent, Exception received) = await Fail(clientTls: Client, connectChannel: (port, _, token) => TcpTransport.Connect("127.0.0.1", port, MultifdLoopback.IoTimeout, MultifdLoopback.IoTimeout, token));
        MigrationException destination = Assert.IsType<MigrationException>(received);
        Assert.Contains("connection 1 of 2 (before its hello)", destination.Message);
        Assert.Contains("did not start TLS but sent 11 22 33 44", destination.Message);
        Assert.Contains("(a plaintext multifd channel's hello)", destination.Message);
        Assert.Equal(-1, Assert.IsType<MultifdChannelException>(destination.InnerException).Channel);

        // The source is told the destination's reason on the main connection.
        MigrationException source = Assert.IsType<MigrationException>(sent);
        Assert.Contains("connection 1 of 2 (before its hello)", source.Message);
        Assert.Contains("this destination requires TLS", source.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task AChannelThatDoesNotTrustTheDestinationIsRefusedNamingTheChannel()
    {
        // Channel 1's credentials come from another CA: its check of the destination's certificate fails, and the
        // destination's check of its certificate (whichever end judges first, each names the channel). Channel 0 and the
        // main connection are good.
        string dir = Certs.Write(Certs.OtherCa, TestCertificates.Issue(Certs.OtherCa, "CN=client,O=Engine", TlsRole.Client), TlsRole.Client);
        TlsOptions foreign = new() { Credentials = Certs.Load(dir, TlsRole.Client) };
        (Exception sent, Exception received) = await Fail(
            clientTls: Client,
            connectChannel: (port, id, token) => TlsTransport.Connect("127.0.0.1", port, id == 1 ? foreign : Client, MultifdLoopback.IoTimeout, MultifdLoopback.IoTimeout, token));
        MigrationException source = Assert.IsType<MigrationException>(sent);
        Assert.Contains("multifd channel 1: TLS: refused the destination 127.0.0.1", source.Message);
        Assert.Contains("its certificate", source.Message);
        EngineException cause = Assert.IsType<EngineException>(source.InnerException);
        Assert.Equal(EngineErrorKind.Security, cause.Kind);

        MigrationException destination = Assert.IsType<MigrationException>(received);
        Assert.True(destination.Message.Contains("connection 2 of 2 (before its hello): TLS: ", StringComparison.Ordinal), destination.Message);
    }

    /// <summary>Runs a migration that must fail, with the source's channels opened by <paramref name="connectChannel"/>; returns both ends' failures.</summary>
    private static async Task<(Exception Source, Exception Destination)> Fail(TlsOptions clientTls, Func<int, int, CancellationToken, Stream> connectChannel)
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20);
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
        var destination = new MultifdDestination(new DestinationOptions { Parameters = multifd, ReadTimeout = MultifdLoopback.IoTimeout }) { Tls = Server };
        Task<Exception> incoming = Task.Run(() =>
        {
            using Stream main = TlsTransport.AuthenticateAsServer(TcpTransport.Accept(listener, MultifdLoopback.IoTimeout), Server);
            return Record(() => destination.Run(main, listener).Memory.Dispose());
        });
        var source = new MultifdSource(guest, MultifdLoopback.Combine(new MigrationParameters { MaxBandwidth = 0 }, multifd), new SourceMigrationOptions { ReplyTimeout = MultifdLoopback.IoTimeout });
        Exception sent = await Task.Run(() =>
        {
            using Stream main = TlsTransport.Connect("127.0.0.1", port, clientTls, MultifdLoopback.IoTimeout, MultifdLoopback.IoTimeout);
            return Record(() => source.Run(main, (id, token) => connectChannel(port, id, token)));
        });
        return (sent, await incoming);
    }

    private static Exception Record(Action action)
    {
        try
        {
            action();
        }
        catch (Exception e)
        {
            return e;
        }

        throw new Xunit.Sdk.XunitException("the migration was expected to fail but completed");
    }
}
