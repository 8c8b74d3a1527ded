using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Memory;

/// <summary>Blocks over memory Engine does not allocate: a host's own memory, and a mapped image.</summary>
public sealed unsafe class HostMemoryTests
{
    [Fact]
    public void WrappedBlockReadsAndWritesTheHostsMemoryAndNeverFreesIt()
    {
        const int Size = 8 * PageSizes.PageSize;
        byte* host = (byte*)NativeMemory.AlignedAlloc(Size, PageSizes.PageSize);
        try
        {
            new Span<byte>(host, Size).Fill(0x5A);
            var block = RamBlock.Wrap("host.ram", host, Size);
            Assert.False(block.OwnsMemory);
            Assert.Equal(0x5A, block.GetPage(3 * PageSizes.PageSize)[17]);
            block.GetPage(PageSizes.PageSize)[0] = 0x11;
            Assert.Equal(0x11, host[PageSizes.PageSize]);

            block.Dispose();
            Assert.True(block.IsDisposed);
            Assert.Throws<ObjectDisposedException>(() => block.GetPage(0));

            // The host's memory is still its own: readable and writable after the block is gone.
            host[0] = 0x22;
            Assert.Equal(0x22, host[0]);
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }

    [Fact]
    public void WrapRefusesANullPointerAndASizeThatIsNotWholePages()
    {
        byte* p = stackalloc byte[16];
        Assert.Throws<ArgumentNullException>(() => RamBlock.Wrap("x", null, PageSizes.PageSize));
        Assert.Throws<ArgumentOutOfRangeException>(() => RamBlock.Wrap("x", p, 100));
        Assert.Throws<ArgumentOutOfRangeException>(() => RamBlock.Wrap("x", p, 0));
    }

    [Fact]
    public void AllocatedBlockReadsAsZeroAndKeepsWrites()
    {
        using var block = new RamBlock("pc.ram", 4L << 20);
        Assert.True(block.OwnsMemory);
        Assert.True(ZeroPage.IsZero(block.GetSpan(0, 1 << 20)));
        block.GetPage(block.Size - PageSizes.PageSize)[4095] = 7;
        Assert.Equal(7, block.GetSpan(block.Size - 1, 1)[0]);
    }

    [Fact]
    public void MappedImageHoldsTheFileAndWritesNeverReachIt()
    {
        string path = Path.GetTempFileName();
        try
        {
            // Two and a half pages: the tail of the last page reads as zero.
            byte[] content = new byte[(2 * PageSizes.PageSize) + 2048];
            new Random(5).NextBytes(content);
            File.WriteAllBytes(path, content);

            using (MigrationGuest guest = MigrationGuest.FromImage(path))
            {
                RamBlock block = guest.Memory.Blocks[0];
                Assert.Equal(3 * PageSizes.PageSize, block.Size);
                Assert.True(block.GetSpan(0, content.Length).SequenceEqual(content));
                Assert.True(ZeroPage.IsZero(block.GetSpan(content.Length, PageSizes.PageSize - 2048)));

                // A writer's write is private to the guest.
                block.GetPage(0).Fill(0xEE);
                Assert.Equal(0xEE, block.GetPage(0)[100]);
            }

            Assert.Equal(content, File.ReadAllBytes(path));
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void ChecksumIsTheSameForTheSameBytesWhateverTheOwnerAndChangesWithOneByte()
    {
        // Larger than one checksum chunk, so the chunked (parallel) path runs.
        long size = MemoryChecksum.ChunkSize + (3L * PageSizes.PageSize);
        using var a = new RamBlock("a", size);
        byte* host = (byte*)NativeMemory.AlignedAlloc((nuint)size, PageSizes.PageSize);
        try
        {
            var rnd = new Random(9);
            for (long o = 0; o < size; o += 1 << 20)
            {
                int n = (int)Math.Min(1 << 20, size - o);
                rnd.NextBytes(a.GetSpan(o, n));
            }

            a.GetSpan(0, (int)Math.Min(size, int.MaxValue)).CopyTo(new Span<byte>(host, (int)size));
            using var b = RamBlock.Wrap("a", host, size);
            Assert.Equal(MemoryChecksum.Of(a), MemoryChecksum.Of(b));
            Assert.Equal(32, MemoryChecksum.Of(a).Length);

            host[size - 1] ^= 1;
            Assert.NotEqual(MemoryChecksum.Of(a), MemoryChecksum.Of(b));
        }
        finally
        {
            NativeMemory.AlignedFree(host);
        }
    }
}
