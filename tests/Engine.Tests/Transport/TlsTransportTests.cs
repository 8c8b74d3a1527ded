using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Engine.Migration;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Transport;

/// <summary>TLS handshakes between the two ends, and each refusal with its message on both sides.</summary>
public sealed class TlsTransportTests
{
    private static readonly TimeSpan Io = TimeSpan.FromSeconds(10);
    private static TestCertificates Certs => TestCertificates.Shared;

    private static TlsOptions ServerOptions(string? dir = null, IReadOnlyList<string>? authz = null, TimeSpan? handshake = null) => new()
    {
        Credentials = dir is null ? Certs.Server : Certs.Load(dir, TlsRole.Server),
        AuthorizedSubjects = authz,
        HandshakeTimeout = handshake ?? TimeSpan.FromSeconds(10),
    };

    private static TlsOptions ClientOptions(string? dir = null, string? hostname = null) => new()
    {
        Credentials = dir is null ? Certs.Client : Certs.Load(dir, TlsRole.Client),
        Hostname = hostname,
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    /// <summary>Runs both handshakes over a loopback pair; each side's outcome: the stream or the exception.</summary>
    private static async Task<(object Client, object Server)> Handshake(TlsOptions client, TlsOptions server, string uriHost = "127.0.0.1")
    {
        (NetworkStream c, NetworkStream s) = TcpTransport.CreateLoopbackPair(Io);
        Task<object> serving = Task.Run<object>(() =>
        {
            try
            {
                return TlsTransport.AuthenticateAsServer(s, server);
            }
            catch (Exception e)
            {
                return e;
            }
        });
        object clientSide;
        try
        {
            clientSide = TlsTransport.AuthenticateAsClient(c, client, uriHost);
        }
        catch (Exception e)
        {
            clientSide = e;
        }

        object serverSide = await serving.WaitAsync(TimeSpan.FromSeconds(30));
        return (clientSide, serverSide);
    }

    /// <summary>The client's view of a refusal that TLS 1.3 delivers after the client's handshake: the alert on its first read.</summary>
    private static string ClientFailure(object client)
    {
        if (client is Exception e)
        {
            return e.Message;
        }

        using var stream = (Stream)client;
        try
        {
            stream.Write("QEVM"u8);
            int n = stream.Read(new byte[16]);
            return n == 0 ? "closed" : "read data";
        }
        catch (Exception failure)
        {
            return TlsTransport.DescribeFailure(failure);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task BothEndsVerifiedCarriesDataBothWaysOverTls13()
    {
        (object client, object server) = await Handshake(ClientOptions(), ServerOptions(authz: ["CN=client, O=Engine"]));
        using var c = Assert.IsType<MigrationTlsStream>(client);
        using var s = Assert.IsType<MigrationTlsStream>(server);
        Assert.Equal(SslProtocols.Tls13, c.SslProtocol);
        Assert.Equal("CN=server", c.RemoteCertificate!.Subject);
        Assert.Equal("CN=client, O=Engine", s.RemoteCertificate!.Subject);
        Assert.True(MigrationConnection.Of(c)!.IsTls);
        Assert.True(MigrationConnection.Of(s)!.IsTls);
        c.Write("QEVM"u8);
        c.Flush();
        byte[] got = new byte[4];
        s.ReadExactly(got);
        Assert.Equal("QEVM"u8.ToArray(), got);

        // The source ends its half with close_notify + FIN; the destination still answers inside TLS.
        TlsTransport.ShutdownSend(c);
        Assert.Equal(0, s.Read(got));
        s.Write("ok\n"u8);
        s.Flush();
        Assert.Equal((byte)'o', (byte)c.ReadByte());
        TlsTransport.Close(s);
        TlsTransport.Close(c);
    }

    [Fact(Timeout = 60_000)]
    public async Task Regression_QemuSourceResetByUnreadSessionTickets_TheServerSendsNone()
    {
        // A QEMU source never reads its connection. The TLS 1.3 session tickets OpenSSL sent after the handshake stayed
        // unread there, its close then reset the connection, and the reset discarded the stream's last megabytes before
        // engine incoming had read them ("Connection reset by peer" 18 MB before the end). The server must send nothing
        // after its handshake: the client's socket holds no byte it has not asked for.
        (object client, object server) = await Handshake(ClientOptions(), ServerOptions());
        using var c = Assert.IsType<MigrationTlsStream>(client);
        using var s = Assert.IsType<MigrationTlsStream>(server);
        Assert.Equal(SslProtocols.Tls13, s.SslProtocol);
        await Task.Delay(300);
        Assert.Equal(0, MigrationConnection.Of(c)!.Socket.Available);
    }

    [Fact(Timeout = 60_000)]
    public async Task AClientWithoutACertificateIsRefusedOnBothSides()
    {
        (NetworkStream c, NetworkStream s) = TcpTransport.CreateLoopbackPair(Io);
        Task<Exception?> serving = Task.Run(() => Record(() => TlsTransport.AuthenticateAsServer(s, ServerOptions())));
        using var bare = new SslStream(c, false, (_, _, _, _) => true);
        string clientSide;
        try
        {
            await bare.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = "", EnabledSslProtocols = TlsTransport.Protocols });
            clientSide = ClientFailure(bare);
        }
        catch (Exception e)
        {
            clientSide = TlsTransport.DescribeFailure(e);
        }

        EngineException refused = Assert.IsType<EngineException>(await serving);
        Assert.Equal(EngineErrorKind.Security, refused.Kind);
        Assert.Contains("its certificate was not sent", refused.Message);
        AssertRefusedAfterHandshake(clientSide);
    }

    [Fact(Timeout = 60_000)]
    public async Task AClientCertificateFromAnotherCaIsRefused()
    {
        // Credentials.Load refuses a client certificate its own ca-cert.pem did not sign, so this client is a bare SslStream
        // that trusts the server and presents a certificate of another CA.
        using X509Certificate2 foreign = TestCertificates.Issue(Certs.OtherCa, "CN=client", TlsRole.Client);
        (NetworkStream c, NetworkStream s) = TcpTransport.CreateLoopbackPair(Io);
        Task<Exception?> serving = Task.Run(() => Record(() => TlsTransport.AuthenticateAsServer(s, ServerOptions())));
        using var client = new SslStream(c, false, (_, _, _, _) => true);
        string clientSide;
        try
        {
            await client.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
            {
                TargetHost = "",
                EnabledSslProtocols = TlsTransport.Protocols,
                ClientCertificateContext = SslStreamCertificateContext.Create(foreign, null, offline: true),
            });
            clientSide = ClientFailure(client);
        }
        catch (Exception e)
        {
            clientSide = TlsTransport.DescribeFailure(e);
        }

        EngineException refused = Assert.IsType<EngineException>(await serving);
        Assert.Equal(EngineErrorKind.Security, refused.Kind);
        Assert.Contains("refused the source", refused.Message);
        Assert.Contains("is not issued by the CA in ca-cert.pem", refused.Message);
        Assert.Contains("Other CA", refused.Message);
        AssertRefusedAfterHandshake(clientSide);
    }

    [Fact(Timeout = 60_000)]
    public async Task AnExpiredClientCertificateIsRefused()
    {
        // Loading refuses an expired own certificate (tested in TlsCredentialsTests), so this one is loaded on a clock set
        // back to when it was valid; the server judges it now.
        string dir = Certs.Write(Certs.Ca, TestCertificates.IssueExpired(Certs.Ca, "CN=client", TlsRole.Client), TlsRole.Client);
        using TlsCredentials expired = TestCertificates.LoadExpired(dir, TlsRole.Client);
        (object client, object server) = await Handshake(ClientOptions() with { Credentials = expired }, ServerOptions());
        EngineException refused = Assert.IsType<EngineException>(server);
        Assert.Contains("refused the source", refused.Message);
        Assert.Contains("has expired", refused.Message);
        Assert.Contains("to 2024-12-01 00:00 UTC", refused.Message);
        AssertRefusedAfterHandshake(ClientFailure(client));
    }

    [Fact(Timeout = 60_000)]
    public async Task AnExpiredServerCertificateIsRefusedByTheClient()
    {
        string dir = Certs.Write(Certs.Ca, TestCertificates.IssueExpired(Certs.Ca, "CN=server", TlsRole.Server), TlsRole.Server);
        using TlsCredentials expired = TestCertificates.LoadExpired(dir, TlsRole.Server);
        (object client, object serverSide) = await Handshake(ClientOptions(), ServerOptions() with { Credentials = expired });
        EngineException refused = Assert.IsType<EngineException>(client);
        Assert.Equal(EngineErrorKind.Security, refused.Kind);
        Assert.Contains("refused the destination 127.0.0.1", refused.Message);
        Assert.Contains("has expired", refused.Message);
        ServerSeesTheClientGo(serverSide);
    }

    [Fact(Timeout = 60_000)]
    public async Task AServerCertificateForAnotherNameIsRefused()
    {
        string dir = Certs.Write(Certs.Ca, TestCertificates.Issue(Certs.Ca, "CN=elsewhere", TlsRole.Server, dnsNames: ["elsewhere.example"], addresses: [IPAddress.Parse("192.0.2.7")]), TlsRole.Server);
        (object client, object server) = await Handshake(ClientOptions(), ServerOptions(dir));
        EngineException refused = Assert.IsType<EngineException>(client);
        Assert.Contains("is for another name than '127.0.0.1'", refused.Message);
        Assert.Contains("DNS:elsewhere.example", refused.Message);
        ServerSeesTheClientGo(server);

        // --tls-hostname names what the certificate must carry, whatever host was dialled.
        (client, server) = await Handshake(ClientOptions(hostname: "elsewhere.example"), ServerOptions(dir));
        ((IDisposable)Assert.IsType<MigrationTlsStream>(client)).Dispose();
        ((IDisposable)Assert.IsType<MigrationTlsStream>(server)).Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task AClientSubjectNotInTlsAuthzIsRefused()
    {
        (object client, object server) = await Handshake(ClientOptions(), ServerOptions(authz: ["CN=admin", "CN=client,O=Other"]));
        EngineException refused = Assert.IsType<EngineException>(server);
        Assert.Contains("has the subject 'CN=client, O=Engine', which is not in tls-authz", refused.Message);
        AssertRefusedAfterHandshake(ClientFailure(client));

        // The same subject in QEMU's (GnuTLS's) spelling, without spaces, is accepted.
        (client, server) = await Handshake(ClientOptions(), ServerOptions(authz: ["CN=admin", "CN=client,O=Engine"]));
        ((IDisposable)Assert.IsType<MigrationTlsStream>(client)).Dispose();
        ((IDisposable)Assert.IsType<MigrationTlsStream>(server)).Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task APlaintextSourceIsToldTheDestinationRequiresTls()
    {
        (NetworkStream c, NetworkStream s) = TcpTransport.CreateLoopbackPair(Io);
        using (c)
        {
            Task<Exception?> serving = Task.Run(() => Record(() => TlsTransport.AuthenticateAsServer(s, ServerOptions())));
            c.Write("QEVM\0\0\0\u0003"u8);
            EngineException refused = Assert.IsType<EngineException>(await serving);
            Assert.Equal(EngineErrorKind.Security, refused.Kind);
            Assert.Contains("did not start TLS but sent 51 45 56 4d", refused.Message);
            Assert.Contains("a plaintext migration stream", refused.Message);

            // What a plaintext Engine source reads: an error line it reports as the destination's reason.
            string line = MigrationReply.ReadLine(c, "the reply");
            MigrationException told = Assert.Throws<MigrationException>(() => MigrationReply.ParseChecksums(line));
            Assert.Contains("the destination requires TLS", told.Message);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ATlsSourceToAPlaintextDestinationSaysTheDestinationDoesNotSpeakTls()
    {
        (NetworkStream c, NetworkStream s) = TcpTransport.CreateLoopbackPair(Io);
        Task<Exception?> destination = Task.Run(() => Record(() => new DestinationMigration().Run(s).Memory.Dispose()));
        EngineException refused = Assert.Throws<EngineException>(() => TlsTransport.AuthenticateAsClient(c, ClientOptions(), "127.0.0.1"));
        Assert.Equal(EngineErrorKind.Security, refused.Kind);
        Assert.Contains("does not speak TLS", refused.Message);
        Assert.Contains("the destination discarded the stream", refused.Message);
        Assert.Contains("TLS handshake", refused.Message);
        MigrationException discarded = Assert.IsType<MigrationException>(await destination);
        Assert.Contains("a TLS handshake", discarded.Message);
        s.Dispose();
    }

    [Fact(Timeout = 60_000)]
    public async Task AStalledHandshakeIsDroppedAfterTheTimeout()
    {
        (NetworkStream c, NetworkStream s) = TcpTransport.CreateLoopbackPair(Io);
        using (c)
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            Exception? silent = await Task.Run(() => Record(() => TlsTransport.AuthenticateAsServer(s, ServerOptions(handshake: TimeSpan.FromMilliseconds(500)))));
            Assert.Contains("sent nothing within 0.5 s", Assert.IsType<EngineException>(silent).Message);
            Assert.InRange(clock.Elapsed.TotalSeconds, 0.4, 5);
        }

        // A peer that starts a handshake record and then trickles is dropped at the same deadline.
        (c, s) = TcpTransport.CreateLoopbackPair(Io);
        using (c)
        {
            c.Write([0x16, 0x03, 0x01]);
            Exception? trickling = await Task.Run(() => Record(() => TlsTransport.AuthenticateAsServer(s, ServerOptions(handshake: TimeSpan.FromMilliseconds(500)))));
            Assert.Contains("did not finish within 0.5 s", Assert.IsType<EngineException>(trickling).Message);
        }
    }

    /// <summary>
    /// TLS 1.3: the client's handshake ends before the server has judged the client's certificate, so the client learns of
    /// the refusal on its first read: the server's alert or its close. (SourceMigrationOverTlsTests checks what a source
    /// reports then.)
    /// </summary>
    private static void AssertRefusedAfterHandshake(string clientSide)
        => Assert.True(clientSide == "closed" || clientSide.Contains("alert", StringComparison.OrdinalIgnoreCase) || clientSide.Contains("refused", StringComparison.Ordinal), clientSide);

    /// <summary>The client judges the server after its handshake (it has sent its Finished): the server sees it leave.</summary>
    private static void ServerSeesTheClientGo(object server)
    {
        if (server is Stream stream)
        {
            using (stream)
            {
                try
                {
                    Assert.Equal(0, stream.Read(new byte[16]));
                }
                catch (IOException)
                {
                    // A reset or an alert: gone either way.
                }
            }
        }
        else
        {
            Assert.IsType<EngineException>(server);
        }
    }

    private static Exception? Record(Action body)
    {
        try
        {
            body();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }

    private static Exception? Record(Func<Stream> body)
    {
        try
        {
            body().Dispose();
            return null;
        }
        catch (Exception e)
        {
            return e;
        }
    }
}
