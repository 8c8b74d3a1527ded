using Engine.Codecs;
using Engine.Migration;
using Engine.Multifd;
using Engine.Tests.Migration;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// A QEMU-shaped multifd source (<see cref="QemuShapedMultifd"/>) into Engine as a live peer (issue 11): the destination
/// keeps the device state verbatim and its checkpoint loads as a single-stream QEMU file. The same against real QEMU 7.2 is
/// in <c>tests/interop/multifd-live.sh</c> (checkpoint run).
/// </summary>
public sealed class MultifdLivePeerTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "engine-multifd-live-" + Guid.NewGuid().ToString("N"));

    public MultifdLivePeerTests() => Directory.CreateDirectory(_dir);

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    [Theory(Timeout = 60_000)]
    [InlineData(CompressMethod.Zstd, 2, "zlib", false)]
    [InlineData(CompressMethod.Zlib, 3, "zstd", false)]
    [InlineData(CompressMethod.None, 1, "none", false)]
    [InlineData(CompressMethod.Zstd, 2, "zlib", true)]
    [InlineData(CompressMethod.Zlib, 3, "zstd", true)]
    [InlineData(CompressMethod.None, 2, "none", true)]
    public async Task A_qemu_multifd_source_keeps_its_device_state_and_the_checkpoint_loads_as_one_stream(CompressMethod method, int channels, string checkpointMethod, bool qemu10)
    {
        // qemu10: zero pages in the packets (9.0+), 9.2's SYNC packets, command 11 before RAM's END (10.0).
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = channels, MultifdCompression = method });
        byte[] expected = QemuShapedMultifd.Send(source, channels, method, qemu10);
        DestinationResult received = await source.Incoming;
        using (received.Memory)
        {
            Assert.True(received.FromQemu);
            Assert.Equal(LivePeerTests.DeviceState(), received.Tail);
            Assert.True(expected.AsSpan().SequenceEqual(received.Memory.Blocks[0].GetSpan(0, expected.Length)), "the received RAM differs from what was sent");
            Assert.Equal(QemuShapedMultifd.ZeroPageCount, received.ZeroPages);

            // A QEMU source gets no reply: the destination closes without writing.
            Assert.Equal(string.Empty, source.ReadReply());

            string path = Path.Combine(_dir, "checkpoint.bin");
            Checkpoint.Save(path, received, CompressionSettings.Parse(checkpointMethod, checkpointMethod == "none" ? 0 : 1), threads: 2);
            byte[] saved = File.ReadAllBytes(path);
            DestinationResult loaded = new DestinationMigration().Run(new MemoryStream(saved));
            using (loaded.Memory)
            {
                Assert.True(loaded.FromQemu);
                Assert.Equal(received.Checksums, loaded.Checksums);
                Assert.Equal(received.Tail, loaded.Tail);
                Assert.Equal(received.RamBlockList, loaded.RamBlockList);
                Assert.Equal(received.StreamPrefix, loaded.StreamPrefix);
                Assert.Equal(checkpointMethod != "none", loaded.CompressedPages > 0);
            }
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task A_multifd_source_cut_off_in_the_device_state_is_reported()
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 1, MultifdCompression = CompressMethod.None });
        var channel = source.Connect(FakeMultifdSource.Hello(0));
        channel.Write(FakeMultifdSource.Header(CompressMethod.None, [], 0, sync: true));
        source.Writer.EndRamSection();
        source.Writer.WriteSectionHeader(Engine.Wire.SectionType.End, 2);
        channel.Write(FakeMultifdSource.Header(CompressMethod.None, [], 0, sync: true));
        source.Writer.EndRamSection();
        source.Writer.WriteRaw(LivePeerTests.DeviceState().AsSpan(0, 100));
        source.Writer.Flush();
        source.Main.Socket.Shutdown(System.Net.Sockets.SocketShutdown.Send);
        MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => source.Incoming);
        Assert.Contains("device state is cut off", e.Message, StringComparison.Ordinal);
    }
}
