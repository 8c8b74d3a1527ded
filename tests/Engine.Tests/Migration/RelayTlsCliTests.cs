using System.Globalization;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Migration;
using Engine.Tests.Transport;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary>
/// A relay pair with TLS on its link only, as over a WAN: source → relay A (<c>--tls-creds</c>: TLS out) → relay B
/// (<c>--listen-tls-creds</c>: TLS in) → destination, as real processes.
/// </summary>
public sealed class RelayTlsCliTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    [Fact] // every wait on the child processes has its own timeout
    public void ARelayPairCarriesTheStreamByteExactOverTlsAfterRelayBRefusedAPlaintextRelay()
    {
        string creds = TlsCliTests.BothEnds();
        try
        {
            using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--json");
            int incomingPort = Port(incoming.WaitForStdErrLine("listening on", ProcessTimeout));
            using EngineProcess relayB = EngineProcess.Start(
                "relay", "--listen", "tcp:127.0.0.1:0", "--listen-tls-creds", creds, "--listen-tls-authz", "CN=client,O=Engine",
                "--to", $"tcp:127.0.0.1:{incomingPort}", "--compress-method", "none", "--json");
            int relayBPort = Port(relayB.WaitForStdErrLine("listening on", ProcessTimeout));
            relayB.WaitForStdErrLine("tls-authz (CN=client,O=Engine)", ProcessTimeout);
            byte[] stream = LivePeerTests.QemuShapedStream();

            // A relay A without TLS is refused by relay B with the reason, and relay B waits on. (This small stream fits in
            // the socket buffers: relay A may have written all of it before relay B's refusal arrives, and a one-way
            // carrier cannot tell a refusal after its last byte from a destination that took the stream; when it does see
            // the refusal, it reports relay B's reason.)
            using (EngineProcess plain = EngineProcess.Start("relay", "--listen", "tcp:127.0.0.1:0", "--to", $"tcp:127.0.0.1:{relayBPort}", "--timeout", "10"))
            {
                int plainPort = Port(plain.WaitForStdErrLine("listening on", ProcessTimeout));
                Send(plainPort, stream, allowReset: true);
                int exit = plain.WaitForExit(ProcessTimeout);
                Assert.True(exit is 0 or 1, plain.StdErr);
                if (exit == 1 && plain.StdErr.Contains("sent data", StringComparison.Ordinal))
                {
                    Assert.Contains("the destination requires TLS", plain.StdErr, StringComparison.Ordinal);
                }
            }

            relayB.WaitForStdErrLine("did not start TLS but sent 51 45 56 4d", ProcessTimeout);

            // Relay A with TLS out: relay B takes it, and the destination receives the source's RAM byte-exact.
            using EngineProcess relayA = EngineProcess.Start(
                "relay", "--listen", "tcp:127.0.0.1:0", "--to", $"tcp:127.0.0.1:{relayBPort}", "--tls-creds", creds, "--tls-hostname", "localhost",
                "--compress-method", "zstd", "--compress-threads", "2", "--json");
            int relayAPort = Port(relayA.WaitForStdErrLine("listening on", ProcessTimeout));
            Send(relayAPort, stream, allowReset: false);
            Assert.True(relayA.WaitForExit(ProcessTimeout) == 0, relayA.StdErr);
            Assert.True(relayB.WaitForExit(ProcessTimeout) == 0, relayB.StdErr);
            Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);

            using JsonDocument a = JsonDocument.Parse(relayA.StdOut);
            using JsonDocument b = JsonDocument.Parse(relayB.StdOut);
            Assert.Equal(stream.Length, a.RootElement.GetProperty("engine").GetProperty("bytes-in").GetInt64());
            Assert.Equal(a.RootElement.GetProperty("ram").GetProperty("transferred").GetInt64(), b.RootElement.GetProperty("engine").GetProperty("bytes-in").GetInt64());
            Assert.True(a.RootElement.GetProperty("compression").GetProperty("pages").GetInt64() > 0);
            using JsonDocument received = JsonDocument.Parse(incoming.StdOut);
            Assert.Equal(LivePeerTests.DeviceState().Length, received.RootElement.GetProperty("engine").GetProperty("device-state-bytes").GetInt64());
            DestinationResult original = new DestinationMigration().Run(new MemoryStream(stream));
            using (original.Memory)
            {
                string[] expected = original.Checksums.Select(c => $"{c.Name}:{c.Checksum}").ToArray();
                string[] got = received.RootElement.GetProperty("engine").GetProperty("blocks").EnumerateArray().Select(e => $"{e.GetProperty("name").GetString()}:{e.GetProperty("xxh128").GetString()}").ToArray();
                Assert.Equal(expected, got);
            }
        }
        finally
        {
            Directory.Delete(creds, true);
        }
    }

    [Fact]
    public void ListenTlsOptionsNeedAListenerAndTheirCredentials()
    {
        using (EngineProcess authz = EngineProcess.Start("relay", "--listen", "tcp:127.0.0.1:0", "--listen-tls-authz", "CN=x", "--to", "tcp:127.0.0.1:9"))
        {
            Assert.Equal(2, authz.WaitForExit(ProcessTimeout));
            Assert.Contains("--listen-tls-authz needs --listen-tls-creds DIR", authz.StdErr, StringComparison.Ordinal);
        }

        using (EngineProcess file = EngineProcess.Start("relay", "--from", "file:/nonexistent", "--listen-tls-creds", TestCertificates.Shared.ServerDir, "--to", "tcp:127.0.0.1:9"))
        {
            Assert.Equal(2, file.WaitForExit(ProcessTimeout));
            Assert.Contains("--listen-tls-creds needs --listen tcp:HOST:PORT", file.StdErr, StringComparison.Ordinal);
        }
    }

    private static void Send(int port, byte[] stream, bool allowReset)
    {
        using NetworkStream source = TcpTransport.Connect("127.0.0.1", port, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
        try
        {
            source.Write(stream);
            source.Socket.Shutdown(SocketShutdown.Send);
        }
        catch (IOException) when (allowReset)
        {
            // A relay that gave up closes its source's connection.
        }
    }

    private static int Port(string line) => int.Parse(line[(line.LastIndexOf(':') + 1)..].Trim(), CultureInfo.InvariantCulture);
}
