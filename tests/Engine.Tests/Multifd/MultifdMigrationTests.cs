using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>Engine to Engine in QEMU 7.2's multifd format: every method with 1, 2 and 8 channels, byte-exact.</summary>
public sealed class MultifdMigrationTests
{
    [Theory(Timeout = 60_000)]
    [InlineData(CompressMethod.None, 1)]
    [InlineData(CompressMethod.None, 2)]
    [InlineData(CompressMethod.None, 8)]
    [InlineData(CompressMethod.Zlib, 1)]
    [InlineData(CompressMethod.Zlib, 2)]
    [InlineData(CompressMethod.Zlib, 8)]
    [InlineData(CompressMethod.Zstd, 1)]
    [InlineData(CompressMethod.Zstd, 2)]
    [InlineData(CompressMethod.Zstd, 8)]
    public async Task StillGuestArrivesByteExact(CompressMethod method, int channels)
    {
        // Two blocks, so packets change block and the second block's name travels too; 12 MiB = 3072 pages = 24+ packets.
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20), new("vga.vram", 4L << 20)], seed: (ulong)(channels * 10 + (int)method));
        var parameters = new MigrationParameters { MaxBandwidth = 0 };
        var multifd = new MigrationParameters { MultifdChannels = channels, MultifdCompression = method };
        (MigrationResult source, DestinationResult destination, MultifdSource migration) = await MultifdLoopback.Migrate(guest, parameters, multifd);
        using (destination.Memory)
        {
            Assert.Equal(MigrationStatus.Completed, source.Info.Status);
            Assert.True(source.ChecksumsMatch, "checksums differ");
            Assert.Equal(source.SourceChecksums, destination.Checksums);
            for (int b = 0; b < 2; b++)
            {
                long size = guest.Memory.Blocks[b].Size;
                Assert.True(guest.Memory.Blocks[b].GetSpan(0, (int)size).SequenceEqual(destination.Memory.Blocks[b].GetSpan(0, (int)size)), $"block {b} differs");
            }

            long pages = guest.Memory.PageCount;
            Assert.True(destination.ZeroPages > pages / 4, $"{destination.ZeroPages} zero pages on the main channel");
            long carried = method == CompressMethod.None ? destination.RawPages : destination.CompressedPages;
            Assert.Equal(pages, destination.ZeroPages + carried);
            Assert.True(migration.Packets >= (carried / MultifdFormat.PagesPerPacket) + channels, $"{migration.Packets} packets");
            if (method != CompressMethod.None)
            {
                // One stream per channel across packets: far below the raw pages.
                Assert.True(migration.ChannelBytes < carried * PageSizes.PageSize / 2, $"{migration.ChannelBytes} channel bytes for {carried} pages");
            }
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(CompressMethod.Zstd, 2)]
    [InlineData(CompressMethod.Zlib, 3)]
    public async Task GuestUnderWritesEndsWithEveryPagesLastVersion(CompressMethod method, int channels)
    {
        // Pages dirtied again are resent in later sections; the SYNC barrier at each EOS orders the copies.
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        guest.StartWriters();
        var parameters = new MigrationParameters { MaxBandwidth = 32L << 20 };
        var multifd = new MigrationParameters { MultifdChannels = channels, MultifdCompression = method };
        (MigrationResult source, DestinationResult destination, _) = await MultifdLoopback.Migrate(guest, parameters, multifd);
        using (destination.Memory)
        {
            Assert.True(source.ChecksumsMatch, "checksums differ");
            Assert.True(guest.Memory.Blocks[0].GetSpan(0, 8 << 20).SequenceEqual(destination.Memory.Blocks[0].GetSpan(0, 8 << 20)));
            Assert.True(source.Info.DirtySyncCount >= 2, $"{source.Info.DirtySyncCount} dirty syncs: the writers should force more than one round");
            Assert.True(guest.Writers!.IsPaused);
        }
    }
}
