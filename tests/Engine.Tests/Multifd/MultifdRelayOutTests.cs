using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Relay;
using Engine.Multifd;
using Engine.Tests.Migration;
using Engine.Tests.Support;
using Engine.Tests.Wire.Support;
using Engine.Transport;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// <c>engine relay --to-multifd-channels N</c> (issue 16 item 2): whatever the source (one stream, a saved stream, or multifd),
/// the relay writes multifd on to a multifd destination, in the barrier framing of the destination's machine type. The
/// destination here is Engine's own multifd <c>incoming</c>; the same against QEMU 10.0 is in
/// <c>tests/interop/qemu10-peer.sh</c> (<c>relay-multifd</c>).
/// </summary>
public sealed class MultifdRelayOutTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    [Theory(Timeout = 60_000)]
    [InlineData(QemuSync.PerSection, false, CompressMethod.Zstd, 2, CompressMethod.Zstd, 2, null)]
    [InlineData(QemuSync.PerSection, false, CompressMethod.None, 1, CompressMethod.Zlib, 3, "pc-q35-10.0")]
    [InlineData(QemuSync.PerRound100, true, CompressMethod.Zstd, 2, CompressMethod.None, 2, null)]
    [InlineData(QemuSync.PerRound91, true, CompressMethod.None, 3, CompressMethod.Zstd, 1, "pc-q35-9.2")]
    public async Task A_qemu_shaped_multifd_source_goes_on_as_multifd_byte_exact(
        QemuSync sync, bool qemu10, CompressMethod inMethod, int inChannels, CompressMethod outMethod, int outChannels, string? machineType)
    {
        // Per round: each of the source's 0x200 barriers is one of the output's too (a page is sent again after the wrap).
        var input = new MigrationParameters { MultifdChannels = inChannels, MultifdCompression = inMethod };
        var output = new MigrationParameters { MultifdChannels = outChannels, MultifdCompression = outMethod };
        var relay = new MultifdOut(output, machineType);
        using var source = new FakeMultifdSource(input, receive: listener => relay.Run((destination, options) =>
        {
            using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
            return new MigrationRelay(options).Run(main, listener, new MultifdDestination(new DestinationOptions { Parameters = input, ReadTimeout = IoTimeout }), destination);
        }));
        byte[] expected = QemuShapedMultifd.Send(source, inChannels, inMethod, sync, qemu10);
        DestinationResult result = await source.Incoming;
        using (result.Memory)
        {
            Assert.True(expected.AsSpan().SequenceEqual(result.Memory.Blocks[0].GetSpan(0, expected.Length)), "the relayed RAM differs from what was sent");
            Assert.Equal(LivePeerTests.DeviceState(), result.Tail);
            Assert.True(result.FromQemu);
            Assert.Equal(outMethod != CompressMethod.None, result.CompressedPages > 0);
            Assert.Equal(outMethod != CompressMethod.None, relay.Result!.CompressedPages > 0);
            Assert.Equal(0, result.XbzrlePages);
        }
    }

    [Theory(Timeout = 90_000)]
    [InlineData("pc-q35-7.2", CompressMethod.Zstd, CompressMethod.None)]
    [InlineData("pc-q35-10.0", CompressMethod.None, CompressMethod.Zstd)]
    public async Task An_engine_multifd_source_under_writes_arrives_byte_exact_through_a_relay_that_writes_multifd(string machineType, CompressMethod inMethod, CompressMethod outMethod)
    {
        // Pages dirtied again travel in later sections on other channels of both hops: the barrier the relay writes at each
        // of the source's is what keeps every page's last version last (10.0's type: per round, with 0x200 records).
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20), new("vga.vram", 2L << 20)], new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        guest.StartWriters();
        var input = new MigrationParameters { MultifdChannels = 2, MultifdCompression = inMethod };
        var output = new MigrationParameters { MultifdChannels = 3, MultifdCompression = outMethod };
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var relay = new MultifdOut(output);
        Task<DestinationResult> incoming = Task.Run(() => relay.Run((destination, options) =>
        {
            using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
            return new MigrationRelay(options).Run(main, listener, new MultifdDestination(new DestinationOptions { Parameters = input, ReadTimeout = IoTimeout }), destination);
        }));
        var migration = new MultifdSource(guest, MultifdLoopback.Combine(new MigrationParameters { MaxBandwidth = 32L << 20 }, input), new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(200), MachineType = machineType })
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
            Assert.Equal(sent.SourceChecksums, result.Checksums);
            AssertSameMemory(guest, result);
            Assert.Equal(machineType == "pc-q35-10.0", relay.SyncsPerRound);
        }
    }

    [Theory(Timeout = 90_000)]
    [InlineData("zstd", "pc-q35-7.2", null, CompressMethod.Zstd, false)]
    [InlineData("zlib", "pc-q35-7.2", "pc-q35-10.0", CompressMethod.None, true)]
    [InlineData("none", "pc-q35-10.0", null, CompressMethod.Zlib, true)]
    public async Task A_single_stream_source_and_a_saved_stream_go_on_as_multifd_byte_exact(string sourceMethod, string sourceMachine, string? machineType, CompressMethod outMethod, bool perRound)
    {
        // One stream in (a compressed one: the relay decodes its pages before the channels take them), multifd out: the
        // output mode does not depend on the source. From a saved stream, as `relay --from file:`: the framing is
        // --machine-type's, else the one of the type the stream's configuration names.
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20), new("vga.vram", 2L << 20)], new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        guest.StartWriters();
        var saved = new MemoryStream();
        var parameters = new MigrationParameters { MaxBandwidth = 32L << 20, CompressThreads = 2 };
        parameters.Set("compress-method", sourceMethod);
        MigrationResult sent = new SourceMigration(guest, parameters, new SourceMigrationOptions { RatePeriod = TimeSpan.FromMilliseconds(200), MachineType = sourceMachine }).Run(saved);
        Assert.True(sent.Info.DirtySyncCount >= 2, $"{sent.Info.DirtySyncCount} dirty syncs: the writers should force more than one round");

        var output = new MigrationParameters { MultifdChannels = 2, MultifdCompression = outMethod };
        var relay = new MultifdOut(output, machineType);
        DestinationResult result = await Task.Run(() => relay.Run((destination, options) => new MigrationRelay(options).Run(new MemoryStream(saved.ToArray()), destination)));
        using (result.Memory)
        {
            Assert.Equal(sent.SourceChecksums, result.Checksums);
            AssertSameMemory(guest, result);
            Assert.Equal(perRound, relay.SyncsPerRound);
            Assert.Equal(saved.Length, relay.Result!.BytesIn);
            Assert.True(relay.Result.ZeroPages > 0);
        }
    }

    [Fact]
    public void Options_a_multifd_output_cannot_carry_are_refused_naming_the_option()
    {
        Stream Connect(int id, CancellationToken token) => throw new InvalidOperationException("not called");
        Assert.Equal("to-multifd-channels", Assert.Throws<EngineParameterException>(() => new MigrationRelay(new RelayOptions { OutputMultifd = true })).Parameter);
        EngineParameterException bandwidth = Assert.Throws<EngineParameterException>(() => new MigrationRelay(new RelayOptions { OutputMultifd = true, ConnectOutputChannel = Connect, Parameters = new MigrationParameters { MaxBandwidth = 1 << 20 } }));
        Assert.Equal("max-bandwidth", bandwidth.Parameter);
        Assert.Contains("multifd", bandwidth.Message, StringComparison.Ordinal);
        foreach (string bad in new[] { string.Empty, "pc q35", new string('x', 300) })
        {
            Assert.Equal("machine-type", Assert.Throws<EngineParameterException>(() => new MigrationRelay(new RelayOptions { MachineType = bad })).Parameter);
        }

        _ = new MigrationRelay(new RelayOptions { OutputMultifd = true, ConnectOutputChannel = Connect, MachineType = "pc-i440fx-8.0" });
    }

    [Fact(Timeout = 60_000)]
    public async Task A_per_round_source_into_a_per_section_machine_type_is_refused_before_its_first_barrier()
    {
        // A page sent again after the source's 0x200 could overtake its first copy at a destination that syncs only at EOS.
        var input = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.None };
        var relay = new MultifdOut(new MigrationParameters { MultifdChannels = 2 }, "pc-i440fx-8.0");
        using var source = new FakeMultifdSource(input, receive: listener => relay.Run((destination, options) =>
        {
            using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
            return new MigrationRelay(options).Run(main, listener, new MultifdDestination(new DestinationOptions { Parameters = input, ReadTimeout = IoTimeout }), destination);
        }));
        try
        {
            QemuShapedMultifd.Send(source, 2, CompressMethod.None, QemuSync.PerRound100, qemu10: true);
        }
        catch (IOException)
        {
            // The relay may have closed the connections first.
        }

        MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => source.Incoming);
        Assert.Contains("syncs per section", e.Message, StringComparison.Ordinal);
        Assert.Contains("pc-i440fx-8.0", e.Message, StringComparison.Ordinal);
        Assert.Contains("--machine-type", e.Message, StringComparison.Ordinal);
    }

    [Theory(Timeout = 60_000)]
    [InlineData("pc-q35-10.0")]
    [InlineData("pc-i440fx-7.2")]
    public async Task A_page_sent_twice_in_one_section_gets_a_barrier_between_its_copies_or_is_refused(string machineType)
    {
        // Neither QEMU nor Engine sends a page twice in a section, but a stream may: on two channels the two copies could
        // land in either order, so per round the relay writes a barrier between them, and per section it refuses.
        byte[] a = new byte[4096];
        byte[] b = new byte[4096];
        a.AsSpan().Fill(0x11);
        b.AsSpan().Fill(0x22);
        var stream = new MemoryStream();
        using (var writer = new MigrationStreamWriter(stream, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-q35-7.2");
            writer.WriteRamSetupSection(1, [new RamBlockInfo("pc.ram", 1 << 20)]);
            writer.WriteSectionHeader(SectionType.End, 1);
            for (int page = 0; page < 200; page++)
            {
                writer.WriteRawPage(0, page * 4096L, a); // enough for every channel to have a packet in flight
            }

            writer.WriteRawPage(0, 0x3000, b);
            writer.WriteCompressedPage(0, 0x4000, TestCodecs.CompressPage(CompressMethod.Zstd, 1, b));
            writer.WriteZeroPage(0, 0x5000);
            writer.EndRamSection();
            writer.WriteRaw(LivePeerTests.DeviceState());
        }

        var relay = new MultifdOut(new MigrationParameters { MultifdChannels = 2 }, machineType);
        if (machineType == "pc-i440fx-7.2")
        {
            MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => Task.Run(() => relay.Run((destination, options) => new MigrationRelay(options).Run(new MemoryStream(stream.ToArray()), destination))));
            Assert.Contains("page 0x3000 is sent twice before the next barrier", e.Message, StringComparison.Ordinal);
            Assert.Contains("byte offset", e.Message, StringComparison.Ordinal);
            return;
        }

        DestinationResult result = await Task.Run(() => relay.Run((destination, options) => new MigrationRelay(options).Run(new MemoryStream(stream.ToArray()), destination)));
        using (result.Memory)
        {
            Assert.Equal(b, result.Memory.Blocks[0].GetSpan(0x3000, 4096).ToArray());
            Assert.Equal(b, result.Memory.Blocks[0].GetSpan(0x4000, 4096).ToArray());
            Assert.True(result.Memory.Blocks[0].GetSpan(0x5000, 4096).IndexOfAnyExcept((byte)0) < 0);
            Assert.Equal(a, result.Memory.Blocks[0].GetSpan(0x6000, 4096).ToArray());
        }
    }

    [Fact]
    public void A_relay_that_fails_mid_way_stops_and_closes_every_channel_to_the_destination()
    {
        Hang.Guard(60, () =>
        {
            // A saved stream cut in the middle of a section: the relay fails with the channels open and packets in flight.
            using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20)]);
            guest.Memory.Blocks[0].GetSpan(0, 8 << 20).Fill(0x5A);
            var saved = new MemoryStream();
            new SourceMigration(guest, new MigrationParameters { MaxBandwidth = 0 }).Run(saved);
            byte[] cut = saved.ToArray().AsSpan(0, (int)(saved.Length * 6 / 10)).ToArray();

            // A destination that only reads: it counts what each channel got and sees each channel's end.
            using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 16);
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var ends = new Task<long>[3];
            Task<long> mainEnd = Task.Run(() =>
            {
                using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
                for (int i = 0; i < ends.Length; i++)
                {
                    NetworkStream channel = TcpTransport.Accept(listener, IoTimeout);
                    ends[i] = Task.Run(() => ReadToEnd(channel));
                }

                return ReadToEnd(main);
            });
            using NetworkStream relayOut = TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout);
            var relay = new MigrationRelay(new RelayOptions
            {
                Parameters = new MigrationParameters { CompressThreads = 2, DecompressThreads = 2, MaxBandwidth = 0, MultifdChannels = ends.Length, MultifdCompression = CompressMethod.Zstd },
                IoTimeout = IoTimeout,
                SourceName = "the cut stream",
                OutputMultifd = true,
                ConnectOutputChannel = (_, token) => TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout, token),
            });
            MigrationException e = Assert.Throws<MigrationException>(() => relay.Run(new MemoryStream(cut), relayOut));
            Assert.Contains("the cut stream ended the stream", e.Message, StringComparison.Ordinal);

            // Every channel's connection was closed by the relay before Run returned (its thread joined first): each read ends.
            Assert.True(mainEnd.Wait(IoTimeout), "the main connection was left open");
            foreach (Task<long> end in ends)
            {
                Assert.True(end.Wait(TimeSpan.FromSeconds(5)), "a channel to the destination was left open");
                Assert.True(end.Result >= MultifdFormat.HelloLength, "a channel sent no hello");
            }

            Assert.True(ends.Sum(t => t.Result) > MultifdFormat.HelloLength * ends.Length, "no packet went out before the failure");
        });
    }

    [Fact]
    public void A_destination_channel_that_goes_away_stops_the_relay_naming_the_channel()
    {
        Hang.Guard(60, () =>
        {
            using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 16L << 20)]);
            Random.Shared.NextBytes(guest.Memory.Blocks[0].GetSpan(0, 16 << 20));
            var saved = new MemoryStream();
            new SourceMigration(guest, new MigrationParameters { MaxBandwidth = 0 }).Run(saved);

            // Channel 1 is closed at once (with a reset); the others are read to their end.
            using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 16);
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            Task accepting = Task.Run(() =>
            {
                NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
                var readers = new List<Task> { Task.Run(() => ReadToEnd(main)) };
                for (int i = 0; i < 2; i++)
                {
                    NetworkStream channel = TcpTransport.Accept(listener, IoTimeout);
                    if (i == 1)
                    {
                        channel.Socket.LingerState = new LingerOption(true, 0);
                        channel.Dispose();
                        continue;
                    }

                    readers.Add(Task.Run(() => ReadToEnd(channel)));
                }

                Task.WaitAll([.. readers], TimeSpan.FromSeconds(30));
            });
            using NetworkStream relayOut = TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout);
            var relay = new MigrationRelay(new RelayOptions
            {
                Parameters = new MigrationParameters { CompressThreads = 2, DecompressThreads = 2, MaxBandwidth = 0, MultifdChannels = 2 },
                IoTimeout = IoTimeout,
                OutputMultifd = true,
                ConnectOutputChannel = (_, token) => TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout, token),
            });
            long start = Stopwatch.GetTimestamp();
            MigrationException e = Assert.Throws<MigrationException>(() => relay.Run(new MemoryStream(saved.ToArray()), relayOut));
            Assert.Contains("multifd channel 1 to the destination", e.Message, StringComparison.Ordinal);
            Assert.True(Stopwatch.GetElapsedTime(start) < IoTimeout, "the relay did not stop before its I/O timeout");
            relayOut.Dispose();
            Assert.True(accepting.Wait(TimeSpan.FromSeconds(30)), "the destination's connections were left open");
        });
    }

    [Fact] // every wait on the child process has its own timeout
    public void The_cli_names_a_bad_to_multifd_option_and_refuses_compress_method_with_it()
    {
        using (EngineProcess relay = EngineProcess.Start("relay", "--from", "file:/nonexistent", "--to", "tcp:127.0.0.1:1", "--to-multifd-channels", "0"))
        {
            Assert.NotEqual(0, relay.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("to-multifd-channels 0 is out of range", relay.StdErr, StringComparison.Ordinal);
        }

        using (EngineProcess relay = EngineProcess.Start("relay", "--from", "file:/nonexistent", "--to", "tcp:127.0.0.1:1", "--to-multifd-compression", "zstd", "--compress-method", "zlib"))
        {
            Assert.NotEqual(0, relay.WaitForExit(TimeSpan.FromSeconds(60)));
            Assert.Contains("--to-multifd-compression instead", relay.StdErr, StringComparison.Ordinal);
        }
    }

    [Fact(Timeout = 90_000)]
    public async Task The_cli_restores_a_saved_stream_as_multifd_in_the_machine_types_framing()
    {
        // engine relay --from file:F --to-multifd-channels 2 --machine-type pc-q35-10.0: per-round framing, into Engine's
        // multifd incoming (which tells the framing from the stream).
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 4L << 20)]);
        Random.Shared.NextBytes(guest.Memory.Blocks[0].GetSpan(0, 1 << 20));
        string file = Path.Combine(Path.GetTempPath(), $"engine-relay-mf-{Guid.NewGuid():N}.bin");
        try
        {
            using (FileStream saved = File.Create(file))
            {
                new SourceMigration(guest, new MigrationParameters { MaxBandwidth = 0 }).Run(saved);
            }

            var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
            using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 16);
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            Task<DestinationResult> incoming = Task.Run(() =>
            {
                using NetworkStream main = TcpTransport.Accept(listener, TimeSpan.FromSeconds(60));
                return new MultifdDestination(new DestinationOptions { Parameters = multifd, ReadTimeout = IoTimeout }).Run(main, listener);
            });
            using EngineProcess relay = EngineProcess.Start(
                "relay", "--from", $"file:{file}", "--to", $"tcp:127.0.0.1:{port}", "--to-multifd-channels", "2", "--to-multifd-compression", "zstd", "--machine-type", "pc-q35-10.0", "--json");
            Assert.True(relay.WaitForExit(TimeSpan.FromSeconds(60)) == 0, relay.StdErr);
            using (var json = System.Text.Json.JsonDocument.Parse(relay.StdOut))
            {
                // The saved stream names pc-q35-7.2; --machine-type chose the framing written.
                Assert.Equal("per-round", json.RootElement.GetProperty("engine").GetProperty("multifd-sync").GetString());
                Assert.Equal("multifd", json.RootElement.GetProperty("engine").GetProperty("compress-method").GetString());
            }

            DestinationResult result = await incoming;
            using GuestMemory memory = result.Memory;
            Assert.True(guest.Memory.Blocks[0].GetSpan(0, 4 << 20).SequenceEqual(result.Memory.Blocks[0].GetSpan(0, 4 << 20)), "the restored RAM differs");
            Assert.True(result.CompressedPages > 0);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static void AssertSameMemory(MigrationGuest guest, DestinationResult result)
    {
        for (int b = 0; b < guest.Memory.Blocks.Count; b++)
        {
            long size = guest.Memory.Blocks[b].Size;
            Assert.True(guest.Memory.Blocks[b].GetSpan(0, (int)size).SequenceEqual(result.Memory.Blocks[b].GetSpan(0, (int)size)), $"block {b} differs");
        }
    }

    private static long ReadToEnd(NetworkStream stream)
    {
        using (stream)
        {
            stream.ReadTimeout = 30_000;
            var buffer = new byte[64 << 10];
            long total = 0;
            try
            {
                int read;
                while ((read = stream.Read(buffer)) > 0)
                {
                    total += read;
                }
            }
            catch (IOException)
            {
                // A reset is an end too.
            }

            return total;
        }
    }

    /// <summary>
    /// A relay in the test's process whose destination is Engine's multifd <c>incoming</c> on a loopback listener: the relay's
    /// main connection and its <see cref="RelayOptions.OutputMultifd"/> channels go there.
    /// </summary>
    private sealed class MultifdOut(MigrationParameters output, string? machineType = null)
    {
        public RelayResult? Result { get; private set; }

        public bool? SyncsPerRound => Result?.MultifdPerRound;

        public DestinationResult Run(Func<Stream, RelayOptions, RelayResult> carry)
        {
            using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
            int port = ((IPEndPoint)listener.LocalEndpoint).Port;
            var destination = new MultifdDestination(new DestinationOptions { Parameters = output, ReadTimeout = IoTimeout });
            Task<DestinationResult> incoming = Task.Run(() =>
            {
                using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
                return destination.Run(main, listener);
            });
            using NetworkStream relayOut = TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout);
            var options = new RelayOptions
            {
                Parameters = MultifdLoopback.Combine(new MigrationParameters { Compression = CompressionSettings.Parse("none", 0), CompressThreads = 2, DecompressThreads = 2, MaxBandwidth = 0 }, output),
                IoTimeout = IoTimeout,
                OutputMultifd = true,
                MachineType = machineType,
                ConnectOutputChannel = (_, token) => TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout, token),
            };
            try
            {
                Result = carry(relayOut, options);

                // As the CLI closes it: Engine's incoming reads the main stream's tail to the connection's end.
                relayOut.Socket.Shutdown(SocketShutdown.Send);
                return incoming.GetAwaiter().GetResult();
            }
            catch
            {
                relayOut.Dispose();
                try
                {
                    incoming.GetAwaiter().GetResult().Memory.Dispose();
                }
                catch (Exception)
                {
                    // The relay's failure is the one reported.
                }

                throw;
            }
        }
    }
}
