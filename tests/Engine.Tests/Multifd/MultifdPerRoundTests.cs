using System.Net.Sockets;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Tests.Migration;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// QEMU 8.1+ multifd on its own machine types (qemu-wire-7.2-to-10.0.md §3.4): the MULTIFD_FLUSH record (0x200) is the
/// barrier and EOS is not, the last pages come after the last barrier, and complete differs by version (8.1: SYNC and 0x200;
/// 9.1/9.2: a SYNC no barrier matches; 10.0: none). The receive loop tells the mode from the setup section and drains every
/// channel at RAM's end. Before it, each of these failed: "the connection ended before the SYNC that the main channel's EOS
/// waits for".
/// </summary>
public sealed class MultifdPerRoundTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(QemuSync.PerRound81, CompressMethod.Zstd, 2)]
    [InlineData(QemuSync.PerRound91, CompressMethod.Zstd, 2)]
    [InlineData(QemuSync.PerRound91, CompressMethod.None, 3)]
    [InlineData(QemuSync.PerRound100, CompressMethod.Zstd, 2)]
    [InlineData(QemuSync.PerRound100, CompressMethod.Zlib, 3)]
    [InlineData(QemuSync.PerRound100, CompressMethod.None, 1)]
    public async Task A_per_round_qemu_source_arrives_byte_exact(QemuSync sync, CompressMethod method, int channels)
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = channels, MultifdCompression = method });
        byte[] expected = QemuShapedMultifd.Send(source, channels, method, sync);
        DestinationResult received = await source.Incoming;
        using (received.Memory)
        {
            Assert.True(expected.AsSpan().SequenceEqual(received.Memory.Blocks[0].GetSpan(0, expected.Length)), "the received RAM differs from what was sent");
            Assert.True(received.FromQemu);
            Assert.Equal(LivePeerTests.DeviceState(), received.Tail);
            Assert.Equal(string.Empty, source.ReadReply());
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(QemuSync.PerRound100, CompressMethod.Zstd, 2)]
    [InlineData(QemuSync.PerRound100, CompressMethod.None, 2)]
    [InlineData(QemuSync.PerRound91, CompressMethod.Zlib, 3)]
    public async Task A_qemu_10_source_on_its_own_machine_type_arrives_byte_exact(QemuSync sync, CompressMethod method, int channels)
    {
        // All of QEMU 10.0's defaults at once: per-round barriers, zero pages inside the packets (zero-page-detection=multifd),
        // 9.2's SYNC packets and SWITCHOVER_START before RAM's END.
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = channels, MultifdCompression = method });
        byte[] expected = QemuShapedMultifd.Send(source, channels, method, sync, qemu10: true);
        DestinationResult received = await source.Incoming;
        using (received.Memory)
        {
            Assert.True(expected.AsSpan().SequenceEqual(received.Memory.Blocks[0].GetSpan(0, expected.Length)), "the received RAM differs from what was sent");
            Assert.Equal(QemuShapedMultifd.ZeroPageCount, received.ZeroPages);
            Assert.Equal(LivePeerTests.DeviceState(), received.Tail);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(CompressMethod.Zstd, 2)]
    [InlineData(CompressMethod.None, 3)]
    public async Task A_per_section_qemu_source_still_arrives_byte_exact(CompressMethod method, int channels)
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = channels, MultifdCompression = method });
        byte[] expected = QemuShapedMultifd.Send(source, channels, method, QemuSync.PerSection);
        DestinationResult received = await source.Incoming;
        using (received.Memory)
        {
            Assert.True(expected.AsSpan().SequenceEqual(received.Memory.Blocks[0].GetSpan(0, expected.Length)), "the received RAM differs from what was sent");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task Per_round_the_destination_reads_every_channel_to_its_end_before_ram_counts_as_complete()
    {
        // QEMU 10.0's complete: no SYNC, so pages after the last barrier may still be on their way when the main stream has
        // ended. A destination that stopped the channels there (as it may per section) would lose them.
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.None });
        NetworkStream channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(CompressMethod.None, [], 0, sync: true));
        source.Writer.WriteMultifdFlush();
        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(SectionType.End, 2);
        source.Writer.EndRamSection();
        source.Writer.WriteRaw(LivePeerTests.DeviceState());
        source.Writer.Flush();
        source.Main.Socket.Shutdown(SocketShutdown.Send);

        // The main stream is complete; the last page comes afterwards.
        await Task.Delay(300);
        Assert.False(source.Incoming.IsCompleted, "the destination finished before its channel ended");
        byte[] page = new byte[PageSizes.PageSize];
        page.AsSpan().Fill(0x5A);
        channel.Write(FakeMultifdSource.Header(CompressMethod.None, [5 * PageSizes.PageSize], PageSizes.PageSize));
        channel.Write(page);
        channel.Socket.Shutdown(SocketShutdown.Send);

        DestinationResult received = await source.Incoming;
        using (received.Memory)
        {
            Assert.True(page.AsSpan().SequenceEqual(received.Memory.Blocks[0].GetPage(5 * PageSizes.PageSize)), "the page after the last barrier is missing");
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_flush_record_after_a_per_section_sync_is_refused_naming_it()
    {
        // The setup section synced at its EOS (per section); a 0x200 later cannot be matched by the channels' SYNCs.
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.None });
        NetworkStream channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(CompressMethod.None, [], 0, sync: true));
        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(SectionType.Part, 2);
        source.Writer.WriteMultifdFlush();
        source.Writer.Flush();

        MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => source.Incoming);
        MigrationStreamException stream = Assert.IsType<MigrationStreamException>(e.InnerException);
        Assert.Contains("MULTIFD_FLUSH", stream.Message, StringComparison.Ordinal);
        Assert.Contains("per-section", stream.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_destination_options_are_checked_for_multifd_too()
    {
        // Before: MultifdDestination ignored Strict and the method. (decompress-threads is refused by its setter now.)
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
        EngineParameterException strict = Assert.Throws<EngineParameterException>(() => new MultifdDestination(new DestinationOptions { Parameters = multifd, Strict = true }));
        Assert.Contains("zstd", strict.Message, StringComparison.Ordinal);

        // Strict with the channels' own method, or with uncompressed channels, is fine.
        var zstd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd, Compression = CompressionSettings.Create(CompressMethod.Zstd, 1) };
        _ = new MultifdDestination(new DestinationOptions { Parameters = zstd, Strict = true });
        _ = new MultifdDestination(new DestinationOptions { Parameters = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.None }, Strict = true });
    }
}
