using System.IO.Hashing;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Memory;

public sealed class WrittenPagesTests
{
    private const int Page = PageSizes.PageSize;

    [Fact]
    public void MarksRangesAcrossWordEdgesAndFindsThem()
    {
        var written = new WrittenPages(200);
        written.Mark(60, 10); // 60..69: across the first word's edge
        written.Mark(128, 64); // exactly the third word
        written.Mark(199);
        Assert.False(written.AnyWritten(0, 60));
        Assert.True(written.AnyWritten(0, 61));
        Assert.True(written.AnyWritten(69, 1));
        Assert.False(written.AnyWritten(70, 58));
        Assert.True(written.AnyWritten(120, 9));
        Assert.False(written.AnyWritten(192, 7));
        Assert.True(written.AnyWritten(192, 8));
        Assert.True(written.TryClear(199));
        Assert.False(written.TryClear(199));
        Assert.False(written.AnyWritten(192, 8));
        Assert.True(written.IsWritten(64) && written.IsWritten(191) && !written.IsWritten(70));
    }

    [Fact(Timeout = 60_000)]
    public async Task ThreadsMarkingPagesOfTheSameWordsLoseNoBit()
    {
        // Two threads on alternate pages (every word shared), one clearing what it marked every other pass: an update of
        // a word that was not atomic would lose the other thread's bits.
        const int Pages = 64 * 64;
        var written = new WrittenPages(Pages);
        using var start = new Barrier(2);
        Task[] workers = new[] { 0, 1 }.Select(parity => Task.Run(() =>
        {
            start.SignalAndWait();
            for (int pass = 0; pass < 200; pass++)
            {
                for (int page = parity; page < Pages; page += 2)
                {
                    if (parity == 1 && pass % 2 == 1)
                    {
                        Assert.True(written.TryClear(page));
                    }
                    else
                    {
                        written.Mark(page);
                    }
                }
            }
        })).ToArray();
        await Task.WhenAll(workers);
        for (int page = 0; page < Pages; page++)
        {
            // Pass 199 (odd) cleared the odd pages last; the even pages were marked on every pass.
            Assert.Equal(page % 2 == 0, written.IsWritten(page));
        }
    }

    [Fact]
    public void TrackingIsOnlyForMemoryAllocatedZeroed()
    {
        string path = Path.GetTempFileName();
        try
        {
            File.WriteAllBytes(path, new byte[Page]);
            using RamBlock image = RamBlock.MapImage("img", path);
            Assert.Throws<InvalidOperationException>(image.TrackWrites);
            using var block = new RamBlock("pc.ram", 4 * Page);
            Assert.Null(block.Written);
            block.TrackWrites();
            Assert.NotNull(block.Written);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Fact]
    public void AZeroPageTouchesOnlyAPageMarkedWritten()
    {
        using var block = new RamBlock("pc.ram", 4 * Page);
        block.TrackWrites();

        // Bytes that no writer marked (as no destination writer would leave them): a zero page that read or wrote the page
        // would remove them; one that trusts the bit leaves them.
        block.GetPage(0).Fill(0x5A);
        block.MakeZero(0);
        Assert.Equal(0x5A, block.GetPage(0)[100]);

        block.GetPage(Page).Fill(0x33);
        block.MarkWritten(Page);
        block.MakeZero(Page);
        Assert.False(block.GetPage(Page).ContainsAnyExcept((byte)0));
        Assert.False(block.Written!.IsWritten(1));

        // Without tracking (a source's block, a wrapped VMM's memory): the page is read and cleared.
        using var plain = new RamBlock("pc.ram", 4 * Page);
        plain.GetPage(0).Fill(0x5A);
        plain.MakeZero(0);
        Assert.False(plain.GetPage(0).ContainsAnyExcept((byte)0));
    }

    [Fact]
    public void TheChecksumOfUnwrittenChunksIsTheChecksumOfTheirZeros()
    {
        // Chunks: 0 written, 1 never written, 2 written and then zeroed page by page, 3 (short, 8 KiB) written once.
        long size = (3L * MemoryChecksum.ChunkSize) + (2 * Page);
        using var tracked = new RamBlock("pc.ram", size);
        tracked.TrackWrites();
        using var plain = new RamBlock("pc.ram", size);
        foreach (RamBlock block in new[] { tracked, plain })
        {
            Write(block, 5 * Page, 0x11);
            Write(block, MemoryChecksum.ChunkSize - Page, 0x22);
            for (long offset = 2L * MemoryChecksum.ChunkSize; offset < 2L * MemoryChecksum.ChunkSize + (64 * Page); offset += Page)
            {
                Write(block, offset, 0x44);
                block.MakeZero(offset);
            }

            Write(block, 3L * MemoryChecksum.ChunkSize, 0x55);
        }

        string expected = Reference(plain);
        Assert.Equal(expected, MemoryChecksum.Of(plain));
        Assert.Equal(expected, MemoryChecksum.Of(tracked));

        // Chunks with no written page (1, and 2 whose pages were all zeroed) are hashed as zeros without reading them:
        // bytes no writer marked do not change the sum.
        tracked.GetPage(MemoryChecksum.ChunkSize + (7 * Page)).Fill(0x77);
        tracked.GetPage(2L * MemoryChecksum.ChunkSize).Fill(0x77);
        Assert.Equal(expected, MemoryChecksum.Of(tracked));

        // A written page in a chunk makes the chunk read: the sum follows the bytes.
        tracked.MarkWritten(MemoryChecksum.ChunkSize + (7 * Page));
        Assert.NotEqual(expected, MemoryChecksum.Of(tracked));
    }

    [Fact]
    public void RunEndFindsWhereARunOfWrittenOrUnwrittenPagesEnds()
    {
        var written = new WrittenPages(300);
        written.Mark(60, 10); // 60..69: across the first word's edge
        written.Mark(128, 64); // exactly the third word
        written.Mark(299);
        Assert.Equal(60, written.RunEnd(0, 300, written: false));
        Assert.Equal(70, written.RunEnd(60, 300, written: true));
        Assert.Equal(70, written.RunEnd(63, 300, written: true)); // from inside the run, over the word's edge
        Assert.Equal(128, written.RunEnd(70, 300, written: false));
        Assert.Equal(192, written.RunEnd(128, 300, written: true)); // a whole word written, then the next word
        Assert.Equal(299, written.RunEnd(192, 300, written: false));
        Assert.Equal(300, written.RunEnd(299, 300, written: true)); // the last page
        Assert.Equal(100, written.RunEnd(80, 100, written: false)); // capped at the end asked for
        Assert.Equal(65, written.RunEnd(65, 300, written: false)); // a page that is not in the kind of run asked for
        Assert.Equal(0, written.RunEnd(0, 1000, written: true)); // page 0 is not written
        Assert.Equal(300, written.RunEnd(299, 1000, written: true)); // never past the bitmap's pages
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public void AChunkHashedByRunsHasTheOnePassValue(int seed)
    {
        // Partly written chunks, hashed with their unwritten pages from a zero buffer, against every byte read: random runs
        // (across 64-page words), single pages, a run to the chunk's end, pages written and made zero again (their bit
        // cleared), pages written twice, a short last chunk; and bytes no writer marked, which a page's bit says are zero.
        long size = (2L * MemoryChecksum.ChunkSize) + (37 * Page);
        using var tracked = new RamBlock("pc.ram", size);
        tracked.TrackWrites();
        using var plain = new RamBlock("pc.ram", size);
        var random = new Random(seed);
        long pages = size / Page;
        for (int run = 0; run < 300; run++)
        {
            long first = random.NextInt64(pages);
            long length = Math.Min(pages - first, random.Next(1, 200));
            byte value = (byte)random.Next(1, 256);
            for (long page = first; page < first + length; page++)
            {
                Write(tracked, page * Page, value);
                Write(plain, page * Page, value);
            }
        }

        for (int zeroed = 0; zeroed < 200; zeroed++)
        {
            long page = random.NextInt64(pages);
            tracked.MakeZero(page * Page);
            plain.MakeZero(page * Page);
        }

        Write(tracked, MemoryChecksum.ChunkSize - Page, 0x5A); // the chunk's last page
        Write(plain, MemoryChecksum.ChunkSize - Page, 0x5A);
        Write(tracked, (pages - 1) * Page, 0x6B); // the block's last page, in the short chunk
        Write(plain, (pages - 1) * Page, 0x6B);
        string expected = Reference(plain);
        for (int chunk = 0; chunk < MemoryChecksum.ChunkCount(tracked); chunk++)
        {
            byte[] byRuns = new byte[MemoryChecksum.DigestSize];
            byte[] whole = new byte[MemoryChecksum.DigestSize];
            MemoryChecksum.HashChunk(tracked, chunk, byRuns, byRuns: true);
            MemoryChecksum.HashChunk(plain, chunk, whole, byRuns: false);
            Assert.Equal(whole, byRuns);
        }

        Assert.Equal(expected, MemoryChecksum.Of(tracked));

        // Unwritten pages are not read: bytes there that no writer marked do not change the digest by runs.
        long unwritten = 0;
        while (tracked.Written!.IsWritten(unwritten))
        {
            unwritten++;
        }

        tracked.GetPage(unwritten * Page).Fill(0x77);
        byte[] after = new byte[MemoryChecksum.DigestSize];
        byte[] reference = new byte[MemoryChecksum.DigestSize];
        int hit = (int)(unwritten * Page / MemoryChecksum.ChunkSize);
        MemoryChecksum.HashChunk(tracked, hit, after, byRuns: true);
        MemoryChecksum.HashChunk(plain, hit, reference, byRuns: false);
        Assert.Equal(reference, after);
    }

    [Fact]
    public void TheZeroDigestIsTheDigestOfZeros()
    {
        foreach (int length in new[] { Page, 3 * Page, 25 * Page, MemoryChecksum.ChunkSize - Page, MemoryChecksum.ChunkSize })
        {
            Assert.Equal(XxHash128.Hash(new byte[length]), MemoryChecksum.ZeroDigest(length).ToArray());
        }
    }

    private static void Write(RamBlock block, long offset, byte value)
    {
        block.GetPage(offset).Fill(value);
        block.MarkWritten(offset);
    }

    /// <summary>The checksum's definition, computed here from every byte.</summary>
    private static string Reference(RamBlock block)
    {
        var digests = new List<byte>();
        for (long offset = 0; offset < block.Size; offset += MemoryChecksum.ChunkSize)
        {
            digests.AddRange(XxHash128.Hash(block.GetSpan(offset, (int)Math.Min(MemoryChecksum.ChunkSize, block.Size - offset))));
        }

        return Convert.ToHexStringLower(XxHash128.Hash(digests.ToArray()));
    }
}
