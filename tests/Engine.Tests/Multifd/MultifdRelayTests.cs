using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Relay;
using Engine.Tests.Migration;
using Engine.Tools;
using Engine.Transport;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// <c>engine relay</c> with a multifd source on its listen side (issue 11): the relay accepts the main connection and the
/// channels, decodes the channels' pages and writes one single-stream migration, each section's pages before its EOS, every
/// other byte as it came. The same with real QEMU 7.2 is in <c>tests/interop/multifd-live.sh</c> (relay run).
/// </summary>
public sealed class MultifdRelayTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    [Theory(Timeout = 60_000)]
    [InlineData(CompressMethod.Zstd, 2, "zstd", false)]
    [InlineData(CompressMethod.Zlib, 3, "none", false)]
    [InlineData(CompressMethod.None, 1, "zlib", false)]
    [InlineData(CompressMethod.Zstd, 2, "zstd", true)]
    [InlineData(CompressMethod.None, 2, "none", true)]
    public async Task A_qemu_shaped_multifd_source_comes_out_as_one_stream_with_the_device_state_verbatim(CompressMethod method, int channels, string relayMethod, bool qemu10)
    {
        // qemu10: the packets' zero pages (9.0+) go on as ZERO records, command 11 (10.0) byte for byte before RAM's END.
        var multifd = new MigrationParameters { MultifdChannels = channels, MultifdCompression = method };
        var relayed = new RelayOutput();
        using var source = new FakeMultifdSource(multifd, receive: listener => relayed.Run(listener, multifd, relayMethod));
        byte[] expected = QemuShapedMultifd.Send(source, channels, method, qemu10);
        DestinationResult result = await source.Incoming;
        using (result.Memory)
        {
            Assert.True(expected.AsSpan().SequenceEqual(result.Memory.Blocks[0].GetSpan(0, expected.Length)), "the relayed RAM differs from what was sent");
            Assert.Equal(qemu10 ? 1 : 0, Engine.Tools.StreamInspector.Inspect(new MemoryStream(relayed.Bytes)).Commands);
            Assert.Equal(qemu10, relayed.Bytes.AsSpan().IndexOf((ReadOnlySpan<byte>)[0x08, 0x00, 0x0B, 0x00, 0x00]) >= 0);
            Assert.Equal(QemuShapedMultifd.ZeroPageCount, result.ZeroPages);
            Assert.True(result.FromQemu);
            Assert.Equal(LivePeerTests.DeviceState(), result.Tail);
            Assert.Equal(LivePeerTests.DeviceState().Length, relayed.Result!.BytesAfterRam);

            // The file header and configuration passed byte for byte.
            var prefix = new MemoryStream();
            using (var writer = new Engine.Wire.MigrationStreamWriter(prefix, leaveOpen: true))
            {
                writer.WriteFileHeader();
                writer.WriteConfiguration("pc-i440fx-7.2");
            }

            Assert.Equal(prefix.ToArray(), result.StreamPrefix);
            Assert.Equal(0, result.XbzrlePages);
            Assert.Equal(relayMethod != "none", result.CompressedPages > 0);
            Assert.Equal(relayMethod == "none", result.RawPages > 0 && result.CompressedPages == 0);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(QemuSync.PerRound81, CompressMethod.Zstd, 2, "zstd")]
    [InlineData(QemuSync.PerRound91, CompressMethod.Zstd, 2, "none")]
    [InlineData(QemuSync.PerRound100, CompressMethod.Zstd, 2, "zlib")]
    [InlineData(QemuSync.PerRound100, CompressMethod.None, 3, "none")]
    public async Task A_per_round_qemu_multifd_source_comes_out_byte_exact_with_each_rounds_pages_before_its_flush(QemuSync sync, CompressMethod method, int channels, string relayMethod)
    {
        // QEMU 8.1+ machine types: the 0x200 record is the barrier, EOS is not; the last pages come after the last barrier
        // and are written before RAM's last EOS once every channel has ended.
        var multifd = new MigrationParameters { MultifdChannels = channels, MultifdCompression = method };
        var relayed = new RelayOutput();
        using var source = new FakeMultifdSource(multifd, receive: listener => relayed.Run(listener, multifd, relayMethod));
        byte[] expected = QemuShapedMultifd.Send(source, channels, method, sync);
        DestinationResult result = await source.Incoming;
        using (result.Memory)
        {
            Assert.True(expected.AsSpan().SequenceEqual(result.Memory.Blocks[0].GetSpan(0, expected.Length)), "the relayed RAM differs from what was sent");
            Assert.True(result.FromQemu);
            Assert.Equal(LivePeerTests.DeviceState(), result.Tail);
        }

        // The flush records go on (before each, the round's pages), so the output stays in the source's framing.
        StreamSummary summary = StreamInspector.Inspect(new MemoryStream(relayed.Bytes));
        Assert.Equal(sync == QemuSync.PerRound81 ? 3 : 2, summary.MultifdFlush.Count);
    }

    [Theory(Timeout = 90_000)]
    [InlineData(CompressMethod.Zstd, 2, "zstd")]
    [InlineData(CompressMethod.Zlib, 3, "none")]
    public async Task An_engine_multifd_source_under_writes_arrives_byte_exact_through_the_relay(CompressMethod method, int channels, string relayMethod)
    {
        // Pages dirtied again travel in later sections, possibly on other channels: only the SYNC barrier at each EOS, kept
        // by the relay's one stream, makes the destination end with every page's last version.
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20), new("vga.vram", 2L << 20)], new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        guest.StartWriters();
        var multifd = new MigrationParameters { MultifdChannels = channels, MultifdCompression = method };
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var relayed = new RelayOutput();
        Task<DestinationResult> incoming = Task.Run(() => relayed.Run(listener, multifd, relayMethod));
        var migration = new MultifdSource(guest, MultifdLoopback.Combine(new MigrationParameters { MaxBandwidth = 32L << 20 }, multifd), new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(200) })
        {
            ExpectReply = false, // the relay sends no reply
        };
        MigrationResult sent = await Task.Run(() =>
        {
            using NetworkStream main = TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout);
            return migration.Run(main, (_, token) => TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout, token));
        });
        DestinationResult result = await incoming;
        using (result.Memory)
        {
            Assert.True(sent.Info.DirtySyncCount >= 2, $"{sent.Info.DirtySyncCount} dirty syncs: the writers should force more than one round");
            Assert.True(guest.Writers!.IsPaused);
            Assert.Equal(sent.SourceChecksums, result.Checksums);
            for (int b = 0; b < 2; b++)
            {
                long size = guest.Memory.Blocks[b].Size;
                Assert.True(guest.Memory.Blocks[b].GetSpan(0, (int)size).SequenceEqual(result.Memory.Blocks[b].GetSpan(0, (int)size)), $"block {b} differs");
            }

            Assert.False(result.FromQemu);
            Assert.Equal(sent.StreamBytes, relayed.Result!.BytesIn);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task An_engine_multifd_source_over_tls_arrives_byte_exact_through_a_relay_whose_listen_side_runs_tls()
    {
        // engine relay --listen-tls-creds with multifd: the main connection and every channel the relay accepts run TLS
        // (the channels through MultifdDestination.Tls, on the same accept path as engine incoming's).
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20), new("vga.vram", 2L << 20)], new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        guest.StartWriters();
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
        var server = new TlsOptions { Credentials = Transport.TestCertificates.Shared.Server };
        var client = new TlsOptions { Credentials = Transport.TestCertificates.Shared.Client };
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var relayed = new RelayOutput();
        Task<DestinationResult> incoming = Task.Run(() => relayed.Run(listener, multifd, "zstd", server));
        var migration = new MultifdSource(guest, MultifdLoopback.Combine(new MigrationParameters { MaxBandwidth = 32L << 20 }, multifd), new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(200) })
        {
            ExpectReply = false, // the relay sends no reply
        };
        MigrationResult sent = await Task.Run(() =>
        {
            using Stream main = TlsTransport.Connect("127.0.0.1", port, client, IoTimeout, IoTimeout);
            try
            {
                return migration.Run(main, (_, token) => TlsTransport.Connect("127.0.0.1", port, client, IoTimeout, IoTimeout, token));
            }
            finally
            {
                TlsTransport.Close(main);
            }
        });
        DestinationResult result = await incoming;
        using (result.Memory)
        {
            Assert.Equal(sent.SourceChecksums, result.Checksums);
            for (int b = 0; b < 2; b++)
            {
                long size = guest.Memory.Blocks[b].Size;
                Assert.True(guest.Memory.Blocks[b].GetSpan(0, (int)size).SequenceEqual(result.Memory.Blocks[b].GetSpan(0, (int)size)), $"block {b} differs");
            }

            Assert.True(result.CompressedPages > 0);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_bad_packet_on_a_channel_stops_the_relay_naming_the_channel_and_offset()
    {
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.None };
        var relayed = new RelayOutput();
        using var source = new FakeMultifdSource(multifd, receive: listener => relayed.Run(listener, multifd, "none"));
        NetworkStream first = source.Connect(FakeMultifdSource.Hello(0));
        source.Connect(FakeMultifdSource.Hello(1));
        byte[] header = FakeMultifdSource.Header(CompressMethod.None, [0x1000], PageSizes.PageSize);
        header[0] ^= 0xFF; // packet magic
        long sent = Stopwatch.GetTimestamp();
        first.Write(header);
        MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => source.Incoming);
        Assert.True(Stopwatch.GetElapsedTime(sent) < IoTimeout / 2, "the relay did not stop promptly");
        Assert.Contains("multifd channel 0, byte offset 64", e.Message, StringComparison.Ordinal);
        Assert.Contains("magic", e.Message, StringComparison.Ordinal);

        // The main connection was shut down: the source learns at once.
        source.Main.ReadTimeout = 5000;
        Assert.Equal(0, source.Main.Read(new byte[16]));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_multifd_source_that_goes_away_stops_the_relay_naming_it_and_nothing_reaches_the_destination_it_would_start_from()
    {
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
        var relayed = new RelayOutput();
        using var source = new FakeMultifdSource(multifd, receive: listener => relayed.Run(listener, multifd, "none"));
        NetworkStream[] channels = [source.Connect(FakeMultifdSource.Hello(0)), source.Connect(FakeMultifdSource.Hello(1))];
        foreach (NetworkStream channel in channels)
        {
            channel.Write(FakeMultifdSource.Header(CompressMethod.Zstd, [], 0, sync: true));
        }

        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(Engine.Wire.SectionType.Part, 2);
        source.Writer.WriteZeroPage(0, 0x5000);
        source.Writer.Flush();

        // The source dies in the middle of a section: every connection closes.
        long gone = Stopwatch.GetTimestamp();
        source.Main.Dispose();
        foreach (NetworkStream channel in channels)
        {
            channel.Dispose();
        }

        MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => source.Incoming);
        Assert.True(Stopwatch.GetElapsedTime(gone) < IoTimeout / 2, "the relay did not stop promptly");
        Assert.Contains("the source", e.Message, StringComparison.Ordinal);
        Assert.Contains("ended the stream", e.Message, StringComparison.Ordinal);
        Assert.Equal(-1, relayed.Bytes.AsSpan().IndexOf("timer"u8));
    }

    [Fact(Timeout = 60_000)]
    public async Task A_destination_that_goes_away_stops_a_multifd_relay_naming_it_and_closes_every_source_connection()
    {
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.None };
        (NetworkStream relayOut, NetworkStream destination) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (relayOut)
        {
            using var source = new FakeMultifdSource(multifd, receive: listener =>
            {
                using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
                var relay = new MigrationRelay(new RelayOptions { Parameters = new MigrationParameters { Compression = CompressionSettings.Parse("none", 0), DecompressThreads = 2, MaxBandwidth = 0 }, IoTimeout = IoTimeout, DestinationName = "the destination under test" });
                relay.Run(main, listener, new MultifdDestination(new DestinationOptions { Parameters = multifd, ReadTimeout = IoTimeout }), relayOut);
                return null!; // not reached: the relay fails
            });
            NetworkStream[] channels = [source.Connect(FakeMultifdSource.Hello(0)), source.Connect(FakeMultifdSource.Hello(1))];

            // The setup section's EOS without the channels' SYNCs: the relay waits at the barrier, where only its watch can
            // see the destination go (the SYNC wait alone would give up only after the I/O timeout).
            source.Writer.EndRamSection();
            source.Writer.Flush();
            Thread.Sleep(300);
            long gone = Stopwatch.GetTimestamp();
            destination.Dispose();
            MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => source.Incoming);
            Assert.True(Stopwatch.GetElapsedTime(gone) < IoTimeout / 2, "the relay did not stop promptly");
            Assert.Contains("the destination under test", e.Message, StringComparison.Ordinal);

            // Every connection of the source was closed, so a QEMU source learns at once.
            foreach (NetworkStream connection in channels.Append(source.Main))
            {
                connection.ReadTimeout = 5000;
                Assert.Equal(0, connection.Read(new byte[16]));
            }
        }
    }

    /// <summary>A relay in the test's process: accepts the main connection and the channels, writes to a loopback socket whose bytes a <see cref="DestinationMigration"/> loads.</summary>
    private sealed class RelayOutput
    {
        public RelayResult? Result { get; private set; }

        public byte[] Bytes { get; private set; } = [];

        public DestinationResult Run(TcpListener listener, MigrationParameters multifd, string method, TlsOptions? tls = null)
        {
            (NetworkStream relayOut, NetworkStream destination) = TcpTransport.CreateLoopbackPair(IoTimeout);
            using (relayOut)
            using (destination)
            {
                Task<byte[]> receiving = Task.Run(() => LivePeerTests.ReadToEnd(destination));
                try
                {
                    NetworkStream connection = TcpTransport.Accept(listener, IoTimeout);
                    using Stream main = tls is null ? connection : TlsTransport.AuthenticateAsServer(connection, tls);
                    var relay = new MigrationRelay(new RelayOptions { Parameters = new MigrationParameters { Compression = CompressionSettings.Parse(method, method == "none" ? 0 : 1), CompressThreads = 2, DecompressThreads = 2, MaxBandwidth = 0 }, IoTimeout = IoTimeout });
                    Result = relay.Run(main, listener, new MultifdDestination(new DestinationOptions { Parameters = multifd, ReadTimeout = IoTimeout }) { Tls = tls }, relayOut);
                    TlsTransport.Close(main);
                }
                finally
                {
                    relayOut.Socket.Shutdown(SocketShutdown.Send);
                    Bytes = receiving.GetAwaiter().GetResult();
                }

                return new DestinationMigration().Run(new MemoryStream(Bytes));
            }
        }
    }
}
