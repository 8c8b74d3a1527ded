using System.IO.Hashing;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Tests.Migration;
using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// The destination's bit per written page (<see cref="WrittenPages"/>) under races with the pages' writers: a page written
/// on one thread (a channel's packet, a decompress worker's queued RAW record) and announced zero later on another (the
/// main stream's ZERO record, another channel's packet). The barriers order them; these tests show the memory and the
/// checksum end as the source's.
/// </summary>
public sealed partial class ZeroPageBitTests
{
    private const int Page = PageSizes.PageSize;
    private const int Pages = (int)(FakeMultifdSource.BlockSize / Page);

    [Theory(Timeout = 60_000)]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    public async Task PagesWrittenByOneChannelAndZeroedByTheOtherOrTheMainStreamEndZero(int round)
    {
        using var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.None });
        NetworkStream[] channels = [source.Connect(FakeMultifdSource.Hello(0)), source.Connect(FakeMultifdSource.Hello(1))];
        byte[] expected = new byte[FakeMultifdSource.BlockSize];
        MigrationStreamWriter main = source.Writer;
        EndSection(source, channels);

        // Section 1: every page holds data, even pages on channel 0 and odd ones on channel 1: both threads mark bits of
        // every word at once.
        main.WriteSectionHeader(SectionType.Part, 2);
        Send(channels, expected, Enumerable.Range(0, Pages), version: 1 + round, channelOf: p => p % 2);
        EndSection(source, channels);

        // Section 2: every page zero: even pages in channel 1's packets (QEMU 9.0+), odd pages as ZERO records on the main
        // stream (QEMU 7.2), each on another thread than the one that wrote it.
        main.WriteSectionHeader(SectionType.Part, 2);
        Zero(main, channels, expected, Enumerable.Range(0, Pages), inPacket: p => p % 2 == 0, channelOf: _ => 1);
        EndSection(source, channels);

        // Section 3: every third page holds data again, on the other channel than in section 1.
        main.WriteSectionHeader(SectionType.Part, 2);
        Send(channels, expected, Enumerable.Range(0, Pages).Where(p => p % 3 == 0), version: 7 + round, channelOf: p => 1 - (p % 2));
        EndSection(source, channels);

        // END: every sixth page zero again (a written page), and pages 1..9 (zero since section 2) zero once more.
        main.WriteSectionHeader(SectionType.End, 2);
        Zero(main, channels, expected, Enumerable.Range(0, Pages).Where(p => p % 6 == 0 || p is > 0 and < 10), inPacket: p => p % 4 == 0, channelOf: p => p % 2);
        EndSection(source, channels);
        main.WriteRaw(LivePeerTests.DeviceState());
        main.Flush();
        source.Main.Socket.Shutdown(SocketShutdown.Send);
        foreach (NetworkStream channel in channels)
        {
            channel.Socket.Shutdown(SocketShutdown.Send);
        }

        DestinationResult received = await source.Incoming;
        using (received.Memory)
        {
            RamBlock block = received.Memory.Blocks[0];
            Assert.NotNull(block.Written);
            Assert.True(expected.AsSpan().SequenceEqual(block.GetSpan(0, expected.Length)), "the received RAM differs from what was sent");
            Assert.Equal(ChecksumOf(expected), received.Checksums[0].Checksum);
            for (int page = 0; page < Pages; page++)
            {
                // Marked exactly where the page holds data at the end (section 3's pages not zeroed again).
                Assert.Equal(page % 3 == 0 && page % 6 != 0 && page >= 10, block.Written!.IsWritten(page));
            }
        }
    }

    [Fact]
    public void RawRecordsQueuedOnTheWorkersThenZeroRecordsOnTheMainThreadEndZero()
    {
        // Single stream, one section: RAW records go to the decompress workers (queued while a worker is busy), and the
        // ZERO records for the same pages follow at once, taking the bit on the main thread before the workers wrote.
        const int Count = 2048;
        var stream = new MemoryStream();
        var writer = new MigrationStreamWriter(stream, leaveOpen: true);
        writer.WriteFileHeader();
        writer.WriteConfiguration("pc-i440fx-7.2");
        writer.WriteRamSectionStart(2);
        writer.WriteRamBlockList([new RamBlockInfo("pc.ram", (long)Count * Page)]);
        writer.EndRamSection();
        byte[] expected = new byte[Count * Page];
        byte[] page = new byte[Page];
        for (int pass = 0; pass < 3; pass++)
        {
            writer.WriteSectionHeader(pass == 2 ? SectionType.End : SectionType.Part, 2);
            for (int p = 0; p < Count; p++)
            {
                page.AsSpan().Fill((byte)(1 + p + pass));
                writer.WriteRawPage(0, (long)p * Page, page);
                if (p % (pass + 2) == 0)
                {
                    writer.WriteZeroPage(0, (long)p * Page);
                    expected.AsSpan(p * Page, Page).Clear();
                }
                else
                {
                    page.CopyTo(expected, p * Page);
                }
            }

            writer.EndRamSection();
        }

        writer.WriteEof();
        writer.Flush();
        stream.Position = 0;
        DestinationResult received = new DestinationMigration(new DestinationOptions { Parameters = new MigrationParameters { DecompressThreads = 2 } }).Run(stream);
        using (received.Memory)
        {
            Assert.True(expected.AsSpan().SequenceEqual(received.Memory.Blocks[0].GetSpan(0, expected.Length)), "the received RAM differs from what was sent");
            Assert.Equal(ChecksumOf(expected), received.Checksums[0].Checksum);
        }
    }

    [Fact]
    public unsafe void ADestinationLeavesMemoryThatOnlyZeroRecordsNamedUntouched()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // mincore(2) is what tells; the behaviour itself is platform-neutral
        }

        // 64 MiB (four checksum chunks): one RAW page, every other page a ZERO record; then the checksum, which reads the
        // RAW page's chunk whole. Nothing in the other three chunks may be faulted in (read or written).
        const int Count = 16384;
        var stream = new MemoryStream();
        var writer = new MigrationStreamWriter(stream, leaveOpen: true);
        writer.WriteFileHeader();
        writer.WriteConfiguration("pc-i440fx-7.2");
        writer.WriteRamSectionStart(2);
        writer.WriteRamBlockList([new RamBlockInfo("pc.ram", (long)Count * Page)]);
        writer.EndRamSection();
        writer.WriteSectionHeader(SectionType.End, 2);
        byte[] page = new byte[Page];
        page.AsSpan().Fill(0x42);
        writer.WriteRawPage(0, 0, page);
        for (int p = 1; p < Count; p++)
        {
            writer.WriteZeroPage(0, (long)p * Page);
        }

        writer.EndRamSection();
        writer.WriteEof();
        writer.Flush();
        stream.Position = 0;
        DestinationResult received = new DestinationMigration().Run(stream);
        using (received.Memory)
        {
            RamBlock block = received.Memory.Blocks[0];
            byte[] residency = new byte[Count];
            fixed (byte* vector = residency)
            {
                Assert.Equal(0, Mincore(block.GetPagePointer(0), (nuint)block.Size, vector));
            }

            int chunkPages = MemoryChecksum.ChunkSize / Page;
            int resident = residency.Skip(chunkPages).Count(r => (r & 1) != 0);
            Assert.True(resident == 0, $"{resident} of the {Count - chunkPages} pages after the first chunk are resident: memory that only ZERO records named was faulted in");
            Assert.Equal(0x42, block.GetPage(0)[0]);
        }
    }

    [Fact]
    public void AMappedRamFileMarksThePagesItLoads()
    {
        // Mapped-ram's loader writes pages without records: unmarked, the checksum would hash the block as zeros.
        MappedRamFileBuilder builder = new MappedRamFileBuilder().Block("pc.ram", 70, i => i % 3 == 1 ? null : StreamBuilder.RandomPage(i), s => s.StaleWhereClear = true);
        string path = Path.Combine(Path.GetTempPath(), $"zero-page-bit-{Guid.NewGuid():N}.bin");
        try
        {
            File.WriteAllBytes(path, builder.Build());
            DestinationResult result;
            using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            {
                result = new DestinationMigration().Run(input);
            }

            using (result.Memory)
            {
                RamBlock block = result.Memory.Blocks[0];
                Assert.Equal(builder.Expected[0], block.GetSpan(0, (int)block.Size).ToArray());
                Assert.Equal(ChecksumOf(builder.Expected[0]), result.Checksums[0].Checksum);
                Assert.True(block.Written!.IsWritten(0));
                Assert.False(block.Written.IsWritten(1));
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int Mincore(void* address, nuint length, byte* vector);

    private static string ChecksumOf(byte[] content)
    {
        var digests = new List<byte>();
        for (int offset = 0; offset < content.Length; offset += MemoryChecksum.ChunkSize)
        {
            digests.AddRange(XxHash128.Hash(content.AsSpan(offset, Math.Min(MemoryChecksum.ChunkSize, content.Length - offset))));
        }

        return Convert.ToHexStringLower(XxHash128.Hash(digests.ToArray()));
    }

    private static void Send(NetworkStream[] channels, byte[] expected, IEnumerable<int> pages, int version, Func<int, int> channelOf)
    {
        foreach (IGrouping<int, int> group in pages.GroupBy(channelOf))
        {
            foreach (int[] packet in group.Chunk(MultifdFormat.PagesPerPacket))
            {
                byte[] payload = new byte[packet.Length * Page];
                for (int i = 0; i < packet.Length; i++)
                {
                    Span<byte> content = expected.AsSpan(packet[i] * Page, Page);
                    content.Fill((byte)((packet[i] * 13) + (version * 29) + 1));
                    content[0] = (byte)(version | 0x80); // never zero
                    content.CopyTo(payload.AsSpan(i * Page));
                }

                NetworkStream channel = channels[group.Key];
                channel.Write(FakeMultifdSource.Header(CompressMethod.None, [.. packet.Select(p => (long)p * Page)], payload.Length));
                channel.Write(payload);
            }
        }
    }

    private static void Zero(MigrationStreamWriter main, NetworkStream[] channels, byte[] expected, IEnumerable<int> pages, Func<int, bool> inPacket, Func<int, int> channelOf)
    {
        var packed = new List<int>();
        foreach (int p in pages)
        {
            expected.AsSpan(p * Page, Page).Clear();
            if (inPacket(p))
            {
                packed.Add(p);
            }
            else
            {
                main.WriteZeroPage(0, (long)p * Page);
            }
        }

        main.Flush();
        foreach (IGrouping<int, int> group in packed.GroupBy(channelOf))
        {
            foreach (int[] packet in group.Chunk(MultifdFormat.PagesPerPacket))
            {
                channels[group.Key].Write(FakeMultifdSource.Header(CompressMethod.None, [.. packet.Select(p => (long)p * Page)], 0, zeroPages: packet.Length));
            }
        }
    }

    private static void EndSection(FakeMultifdSource source, NetworkStream[] channels)
    {
        foreach (NetworkStream channel in channels)
        {
            channel.Write(FakeMultifdSource.Header(CompressMethod.None, [], 0, sync: true));
        }

        source.Writer.EndRamSection();
        source.Writer.Flush();
    }
}
