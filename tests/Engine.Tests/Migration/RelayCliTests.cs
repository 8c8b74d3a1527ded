using System.Net.Sockets;
using System.Text.Json;
using Engine.Migration;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary><c>engine relay</c> and <c>engine incoming --save-stream</c> as real processes, with a QEMU-shaped stream (no QEMU).</summary>
public sealed class RelayCliTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    [Fact] // every wait on the child processes has its own timeout
    public void A_stream_relayed_into_incoming_is_received_as_from_qemu_and_saved_as_a_checkpoint()
    {
        string checkpoint = Path.Combine(Path.GetTempPath(), $"engine-relay-{Guid.NewGuid():N}.ckpt");
        try
        {
            using EngineProcess incoming = EngineProcess.Start(
                "incoming", "--listen", "tcp:127.0.0.1:0", "--json", "--save-stream", checkpoint, "--compress-method", "zlib", "--compress-threads", "2");
            int incomingPort = Port(incoming.WaitForStdErrLine("listening on", ProcessTimeout));
            using EngineProcess relay = EngineProcess.Start(
                "relay", "--listen", "tcp:127.0.0.1:0", "--to", $"tcp:127.0.0.1:{incomingPort}", "--compress-method", "zstd", "--compress-threads", "2", "--json");
            int relayPort = Port(relay.WaitForStdErrLine("listening on", ProcessTimeout));

            byte[] stream = LivePeerTests.QemuShapedStream();
            using (NetworkStream source = TcpTransport.Connect("127.0.0.1", relayPort, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10)))
            {
                source.Write(stream);
                source.Socket.Shutdown(SocketShutdown.Send);
                Assert.True(relay.WaitForExit(ProcessTimeout) == 0, relay.StdErr);
            }

            Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
            using JsonDocument relayed = JsonDocument.Parse(relay.StdOut);
            Assert.Equal(stream.Length, relayed.RootElement.GetProperty("engine").GetProperty("bytes-in").GetInt64());
            Assert.Equal(LivePeerTests.DeviceState().Length, relayed.RootElement.GetProperty("engine").GetProperty("bytes-after-ram").GetInt64());
            using JsonDocument received = JsonDocument.Parse(incoming.StdOut);
            Assert.Equal("qemu", received.RootElement.GetProperty("engine").GetProperty("source").GetString());
            Assert.True(File.Exists(checkpoint));
            Assert.False(File.Exists(checkpoint + ".tmp"));

            // The checkpoint holds the same RAM as the original stream.
            DestinationResult original = new DestinationMigration().Run(new MemoryStream(stream));
            DestinationResult saved = new DestinationMigration().Run(File.OpenRead(checkpoint));
            using (original.Memory)
            using (saved.Memory)
            {
                Assert.Equal(original.Checksums, saved.Checksums);
                Assert.Equal(original.Tail, saved.Tail);
            }
        }
        finally
        {
            File.Delete(checkpoint);
        }
    }

    [Fact] // every wait on the child processes has its own timeout
    public void A_multifd_migration_through_the_relay_arrives_in_incoming_as_one_stream_byte_exact()
    {
        // engine migrate (multifd zstd x2, --no-reply: the relay sends none) -> engine relay (takes the channels, writes one
        // zlib stream) -> engine incoming (single stream), whose saved image must equal the one sent.
        string dir = Path.Combine(Path.GetTempPath(), $"engine-relay-multifd-{Guid.NewGuid():N}");
        Directory.CreateDirectory(dir);
        try
        {
            string image = Path.Combine(dir, "pc.ram.raw");
            byte[] ram = new byte[8 << 20];
            for (int page = 0; page < ram.Length / 4096; page++)
            {
                if (page % 3 != 0)
                {
                    ram.AsSpan(page * 4096, 4096).Fill((byte)(page * 7));
                    System.Buffers.Binary.BinaryPrimitives.WriteInt32BigEndian(ram.AsSpan(page * 4096), page);
                }
            }

            File.WriteAllBytes(image, ram);
            string saved = Path.Combine(dir, "out");
            using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--json", "--save-images", saved);
            int incomingPort = Port(incoming.WaitForStdErrLine("listening on", ProcessTimeout));
            using EngineProcess relay = EngineProcess.Start(
                "relay", "--listen", "tcp:127.0.0.1:0", "--to", $"tcp:127.0.0.1:{incomingPort}", "--multifd-channels", "2",
                "--multifd-compression", "zstd", "--compress-method", "zlib", "--compress-threads", "2", "--json");
            int relayPort = Port(relay.WaitForStdErrLine("listening on", ProcessTimeout));
            using EngineProcess migrate = EngineProcess.Start(
                "migrate", "--to", $"tcp:127.0.0.1:{relayPort}", "--image", image, "--multifd-channels", "2",
                "--multifd-compression", "zstd", "--no-reply", "--max-bandwidth", "0");
            Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
            Assert.True(relay.WaitForExit(ProcessTimeout) == 0, relay.StdErr);
            Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
            using JsonDocument relayed = JsonDocument.Parse(relay.StdOut);
            Assert.True(relayed.RootElement.GetProperty("compression").GetProperty("pages").GetInt64() > 0);
            using JsonDocument received = JsonDocument.Parse(incoming.StdOut);
            Assert.Equal("engine", received.RootElement.GetProperty("engine").GetProperty("source").GetString());
            Assert.True(received.RootElement.GetProperty("compression").GetProperty("pages").GetInt64() > 0);
            string[] images = Directory.GetFiles(saved);
            Assert.Single(images);
            Assert.True(ram.AsSpan().SequenceEqual(File.ReadAllBytes(images[0])), "the received RAM differs from the image sent");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact] // every wait on the child processes has its own timeout
    public void Relay_refuses_both_listen_and_from_and_an_unreachable_destination()
    {
        using (EngineProcess both = EngineProcess.Start("relay", "--listen", "tcp:127.0.0.1:0", "--from", "file:/nonexistent", "--to", "tcp:127.0.0.1:1"))
        {
            Assert.Equal(2, both.WaitForExit(ProcessTimeout));
            Assert.Contains("exactly one of --listen", both.StdErr, StringComparison.Ordinal);
        }

        string path = Path.Combine(Path.GetTempPath(), $"engine-relay-{Guid.NewGuid():N}.bin");
        File.WriteAllBytes(path, LivePeerTests.QemuShapedStream());
        try
        {
            using (EngineProcess multifd = EngineProcess.Start("relay", "--from", $"file:{path}", "--to", "tcp:127.0.0.1:1", "--multifd-channels", "2"))
            {
                Assert.Equal(2, multifd.WaitForExit(ProcessTimeout));
                Assert.Contains("multifd needs --listen", multifd.StdErr, StringComparison.Ordinal);
            }

            using EngineProcess unreachable = EngineProcess.Start("relay", "--from", $"file:{path}", "--to", "tcp:127.0.0.1:1", "--timeout", "5");
            Assert.Equal(1, unreachable.WaitForExit(ProcessTimeout));
            Assert.Contains("cannot be reached", unreachable.StdErr, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static int Port(string line) => int.Parse(line[(line.LastIndexOf(':') + 1)..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
}
