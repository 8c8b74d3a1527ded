using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Migration;
using Engine.Tests.Transport;
using Engine.Transport;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary><c>engine migrate</c> and <c>engine incoming</c> with <c>--tls-creds</c>, <c>--tls-authz</c> and <c>--max-ram</c>, as processes.</summary>
public sealed class TlsCliTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    /// <summary>One directory with both ends' files, as mk-certs.sh makes it.</summary>
    internal static string BothEnds()
    {
        string dir = Path.Combine(Path.GetTempPath(), "engine-tls-both-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        foreach (string file in Directory.GetFiles(TestCertificates.Shared.ServerDir).Concat(Directory.GetFiles(TestCertificates.Shared.ClientDir)))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)), overwrite: true);
        }

        return dir;
    }

    private static int ListeningPort(EngineProcess incoming)
    {
        string line = incoming.WaitForStdErrLine("listening on", TimeSpan.FromSeconds(30));
        return int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
    }

    [Fact] // every wait on the child processes has its own timeout
    public void APlaintextSourceIsRefusedThenATlsSourceMigratesByteExact()
    {
        string creds = BothEnds();
        try
        {
            using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--tls-creds", creds, "--tls-authz", "CN=client,O=Engine", "--json");
            int port = ListeningPort(incoming);

            // Refused with the reason on both sides; the listener waits on for a source it accepts.
            using (EngineProcess plain = EngineProcess.Start("migrate", "--to", $"tcp:127.0.0.1:{port}", "--guest", "synthetic:4M", "--compress-threads", "1"))
            {
                Assert.Equal(1, plain.WaitForExit(ProcessTimeout));
                Assert.Contains("the destination requires TLS", plain.StdErr);
            }

            incoming.WaitForStdErrLine("did not start TLS", TimeSpan.FromSeconds(10));

            using EngineProcess migrate = EngineProcess.Start(
                "migrate", "--to", $"tcp:127.0.0.1:{port}", "--tls-creds", creds, "--guest", "synthetic:8M,vga.vram:1M", "--dirty-rate", "2000",
                "--compress-method", "zstd", "--compress-threads", "2", "--max-bandwidth", "0", "--json");
            Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
            Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
            using JsonDocument source = JsonDocument.Parse(migrate.StdOut);
            Assert.Equal("completed", source.RootElement.GetProperty("status").GetString());
            Assert.True(source.RootElement.GetProperty("checksums-equal").GetBoolean());
        }
        finally
        {
            Directory.Delete(creds, true);
        }
    }

    [Fact] // every wait on the child processes has its own timeout
    public void MultifdOverTlsAPlaintextSourceIsRefusedThenTheTlsOneMigratesOnEveryChannel()
    {
        string creds = BothEnds();
        try
        {
            using EngineProcess incoming = EngineProcess.Start(
                "incoming", "--listen", "tcp:127.0.0.1:0", "--tls-creds", creds, "--multifd-channels", "2", "--multifd-compression", "zstd", "--json");
            int port = ListeningPort(incoming);
            using (EngineProcess plain = EngineProcess.Start(
                "migrate", "--to", $"tcp:127.0.0.1:{port}", "--guest", "synthetic:4M", "--multifd-channels", "2", "--multifd-compression", "zstd"))
            {
                Assert.Equal(1, plain.WaitForExit(ProcessTimeout));
                Assert.Contains("the destination requires TLS", plain.StdErr);
            }

            incoming.WaitForStdErrLine("did not start TLS", TimeSpan.FromSeconds(10));
            using EngineProcess migrate = EngineProcess.Start(
                "migrate", "--to", $"tcp:127.0.0.1:{port}", "--tls-creds", creds, "--guest", "synthetic:8M,vga.vram:1M", "--dirty-rate", "2000",
                "--multifd-channels", "2", "--multifd-compression", "zstd", "--max-bandwidth", "0", "--json");
            Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
            Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
            using JsonDocument source = JsonDocument.Parse(migrate.StdOut);
            Assert.Equal("completed", source.RootElement.GetProperty("status").GetString());
            Assert.True(source.RootElement.GetProperty("checksums-equal").GetBoolean());
            using JsonDocument destination = JsonDocument.Parse(incoming.StdOut);
            Assert.True(destination.RootElement.GetProperty("compression").GetProperty("pages").GetInt64() > 0);
        }
        finally
        {
            Directory.Delete(creds, true);
        }
    }

    [Fact(Timeout = 180_000)] // the peer's task and the child process each have a bound too
    public async Task NoReplyEndsAOneStreamTlsMigrationIntoAPeerThatAnswersNothingAsQemuDoes()
    {
        // A QEMU destination over TLS (verify-peer, tls-authz) reads the stream to its end and closes, answering nothing.
        // `engine migrate --no-reply` must then end once the stream is written, with exit 0; on one stream it used to wait
        // for Engine's reply anyway and fail ("the destination closed the TLS connection before the migration ended")
        // after QEMU 10.0 had loaded every page (qemu10-peer.sh tls-to-qemu).
        string creds = BothEnds();
        string image = Path.Combine(creds, "pc.ram.raw");
        byte[] ram = new byte[4 << 20];
        for (int page = 0; page < ram.Length / 4096; page++)
        {
            if (page % 4 != 0)
            {
                ram.AsSpan(page * 4096, 4096).Fill((byte)(page * 13));
                System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ram.AsSpan(page * 4096), page);
            }
        }

        File.WriteAllBytes(image, ram);
        TlsCredentials serverCredentials = TestCertificates.Shared.Server; // shared by the run's tests: not disposed here
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<byte[]> peer = Task.Run(() =>
        {
            using TcpClient client = listener.AcceptTcpClient();
            client.ReceiveTimeout = 30_000;
            using SslStream tls = TlsTransport.AuthenticateAsServer(
                client.GetStream(), new TlsOptions { Credentials = serverCredentials, AuthorizedSubjects = ["CN=client,O=Engine"] });
            var received = new MemoryStream();
            tls.CopyTo(received); // to the source's close_notify; then closed, no reply
            return received.ToArray();
        });
        try
        {
            using EngineProcess migrate = EngineProcess.Start(
                "migrate", "--to", $"tcp:127.0.0.1:{port}", "--tls-creds", creds, "--image", image, "--compress-method", "none",
                "--no-reply", "--max-bandwidth", "0", "--timeout", "10");
            Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
            Assert.Contains("checksums: not compared (the destination sends no reply)", migrate.StdOut);
            byte[] received = await peer.WaitAsync(ProcessTimeout); // TimeoutException: the peer did not read to the end
            DestinationResult result = new DestinationMigration().Run(new MemoryStream(received));
            using (result.Memory)
            {
                Assert.True(ram.AsSpan().SequenceEqual(result.Memory.Blocks[0].GetSpan(0, ram.Length)), "the RAM the peer received differs from the image");
            }
        }
        finally
        {
            listener.Stop(); // ends an accept still waiting
            try
            {
                await peer.WaitAsync(ProcessTimeout);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException or IOException or TimeoutException or System.Security.Authentication.AuthenticationException)
            {
                // The peer's failure is the assertions' to report; here it only must have ended.
            }

            Directory.Delete(creds, true);
        }
    }

    [Fact]
    public void ABadCredentialsDirectoryFailsBeforeAnythingIsSent()
    {
        using EngineProcess migrate = EngineProcess.Start("migrate", "--to", "tcp:127.0.0.1:9", "--tls-creds", "/nonexistent/creds", "--guest", "synthetic:4M");
        Assert.Equal(2, migrate.WaitForExit(ProcessTimeout));
        Assert.Contains("tls-creds '/nonexistent/creds': the directory does not exist", migrate.StdErr);

        // The server's files are missing from a client-only directory.
        using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--tls-creds", TestCertificates.Shared.ClientDir);
        Assert.Equal(2, incoming.WaitForExit(ProcessTimeout));
        Assert.Contains("server-cert.pem is missing", incoming.StdErr);
        Assert.DoesNotContain("listening on", incoming.StdErr);
    }

    [Fact]
    public void MaxRamRefusesASourceAnnouncingMoreNamingTheSizeOnBothSides()
    {
        using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--max-ram", "16M");
        int port = ListeningPort(incoming);
        using EngineProcess migrate = EngineProcess.Start("migrate", "--to", $"tcp:127.0.0.1:{port}", "--guest", "synthetic:32M", "--compress-threads", "1");
        Assert.Equal(1, migrate.WaitForExit(ProcessTimeout));
        Assert.Equal(1, incoming.WaitForExit(ProcessTimeout));
        foreach (string error in new[] { migrate.StdErr, incoming.StdErr })
        {
            Assert.Contains("found 33554432 bytes (32 MiB) announced by the source", error);
            Assert.Contains("--max-ram", error);
        }
    }

    [SkippableFact]
    public void AStreamAnnouncing40GiBIsRefusedByDefaultWithoutOutOfMemory()
    {
        // Regression: a stream announcing 40 GiB ended in "OutOfMemoryException: Insufficient memory to continue the
        // execution of the program". By default the bound is the host's memory; this test host has less than 40 GiB.
        long host = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes;
        Skip.If(host >= 40L << 30, $"this host holds {host >> 30} GiB; the default bound would accept 40 GiB");
        string path = Path.Combine(Path.GetTempPath(), "engine-40g-" + Guid.NewGuid().ToString("N")[..8] + ".mig");
        try
        {
            using (FileStream file = File.Create(path))
            using (var writer = new MigrationStreamWriter(file))
            {
                writer.WriteFileHeader();
                writer.WriteConfiguration("pc-q35-7.2");
                writer.WriteRamSetupSection(2, [new RamBlockInfo("pc.ram", 40L << 30)]);
            }

            using EngineProcess incoming = EngineProcess.Start("incoming", "--from", $"file:{path}");
            Assert.Equal(1, incoming.WaitForExit(ProcessTimeout));
            Assert.Contains("found 42949672960 bytes (40 GiB) announced by the source", incoming.StdErr);
            Assert.DoesNotContain("OutOfMemory", incoming.StdErr);
        }
        finally
        {
            File.Delete(path);
        }
    }
}
