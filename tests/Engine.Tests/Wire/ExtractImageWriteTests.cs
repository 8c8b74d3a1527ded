using Engine.Codecs;
using Engine.Migration;
using Engine.Tests.Wire.Support;
using Engine.Tools;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>
/// How <c>extract</c> writes its images (<see cref="RamImageSink"/>): RAW pages gathered and written straight into the
/// files while the stream holds only RAW and ZERO pages, then memory written out at the end once a compressed or XBZRLE
/// page (or a mapped-ram file's loader) needs it. Every image must equal what the records say in stream order.
/// </summary>
public class ExtractImageWriteTests
{
    private const int Page = 4096;

    [Fact]
    public void Raw_and_zero_pages_written_straight_to_the_files_end_as_the_stream_says()
    {
        // Two blocks; a run of RAW pages longer than one gathered write; pages sent again out of order; a page sent RAW
        // and later ZERO (must end zero, not keep its bytes); a ZERO page never written (a hole); the last page of a block.
        int runPages = (RamImageSink.BatchBytes / Page) + 44;
        var blocks = new[] { new RamBlockInfo("pc.ram", (runPages + 40) * (long)Page), new RamBlockInfo("vga.vram", 16L * Page) };
        byte[] stream = Stream(blocks, writer =>
        {
            for (int p = 0; p < runPages; p++)
            {
                writer.WriteRawPage(0, (long)p * Page, StreamBuilder.RandomPage(p));
            }

            writer.WriteRawPage(1, 3L * Page, StreamBuilder.TextPage(7));
            writer.WriteRawPage(0, 5L * Page, StreamBuilder.TextPage(8));          // again, out of order
            writer.WriteZeroPage(0, 6L * Page);                                     // RAW earlier: must be zeros now
            writer.WriteRawPage(0, (runPages - 1L) * Page, StreamBuilder.TextPage(9));
            writer.WriteZeroPage(0, (runPages + 10L) * Page);                       // never written: stays a hole
            writer.WriteRawPage(0, (runPages + 20L) * Page, StreamBuilder.TextPage(10));
            writer.WriteRawPage(0, (runPages + 21L) * Page, StreamBuilder.TextPage(11));
            writer.WriteZeroPage(0, (runPages + 21L) * Page);                       // zero while still gathered
            writer.WriteRawPage(0, (runPages + 39L) * Page, StreamBuilder.TextPage(12));
            writer.WriteRawPage(1, 15L * Page, new byte[Page]);                      // a RAW page of zeros: a hole too
            writer.WriteRawPage(1, 4L * Page, StreamBuilder.TextPage(13));
            writer.WriteZeroPage(1, 3L * Page);
        });

        AssertExtractMatches(stream, expectInMemory: false);
    }

    [Fact]
    public void A_page_written_to_the_file_and_made_zero_after_the_switch_to_memory_ends_zero()
    {
        byte[] a = StreamBuilder.RandomPage(1);
        byte[] b = StreamBuilder.TextPage(2);
        var blocks = new[] { new RamBlockInfo("pc.ram", 64L * Page) };
        byte[] stream = Stream(blocks, writer =>
        {
            for (int p = 0; p < 10; p++)
            {
                writer.WriteRawPage(0, (long)p * Page, StreamBuilder.RandomPage(100 + p));
            }

            // Still gathered when the compressed page switches the sink to memory: read back from the file after the write.
            writer.WriteRawPage(0, 10L * Page, a);
            writer.WriteCompressedPage(0, 20L * Page, TestCodecs.CompressPage(CompressMethod.Zstd, 1, b));
            writer.WriteZeroPage(0, 3L * Page);      // in the file before the switch: zeros must be written over it
            writer.WriteZeroPage(0, 10L * Page);
            writer.WriteRawPage(0, 11L * Page, b);
            writer.WriteCompressedPage(0, 4L * Page, TestCodecs.CompressPage(CompressMethod.Zlib, 1, StreamBuilder.TextPage(5)));
        });

        AssertExtractMatches(stream, expectInMemory: true);
    }

    [Fact]
    public void An_xbzrle_page_after_pages_written_straight_applies_to_the_page_in_the_file()
    {
        byte[] c = StreamBuilder.RandomPage(3);
        byte[] d = (byte[])c.Clone();
        d[100] ^= 0x5A;
        var blocks = new[] { new RamBlockInfo("pc.ram", 8L * Page) };
        byte[] stream = Stream(blocks, writer =>
        {
            writer.WriteRawPage(0, 5L * Page, c);
            writer.WriteXbzrlePage(0, 5L * Page, XbzrleTestEncoder.Encode(c, d));
        });

        byte[] image = AssertExtractMatches(stream, expectInMemory: true)[0];
        Assert.Equal(d, image.AsSpan(5 * Page, Page).ToArray());
    }

    [Fact]
    public void Flush_twice_in_memory_writes_zeros_over_a_page_made_zero_between()
    {
        string directory = TempDirectory();
        try
        {
            using var sink = new RamImageSink(directory, 1, TestCodecs.Decompressor);
            sink.OnBlockList([new RamBlockInfo("pc.ram", 8L * Page)]);
            sink.OnCompressedPage(0, 2L * Page, CompressMethod.Zstd, TestCodecs.CompressPage(CompressMethod.Zstd, 1, StreamBuilder.TextPage(4)), 0);
            sink.OnRawPage(0, 3L * Page, StreamBuilder.RandomPage(5));
            sink.Flush();
            Assert.True(sink.InMemory);
            Assert.Equal(StreamBuilder.RandomPage(5), ReadPage(sink.Blocks[0].Path, 3));

            sink.OnZeroPage(0, 3L * Page);
            sink.Flush();
            Assert.Equal(new byte[Page], ReadPage(sink.Blocks[0].Path, 3));
            Assert.Equal(StreamBuilder.TextPage(4), ReadPage(sink.Blocks[0].Path, 2));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Blocks_whose_names_map_to_the_same_file_get_files_of_their_own()
    {
        // "x" at index 1 becomes "x-1.raw", which a block named "x-1" already took: the sink must pick another name,
        // not open the same file twice (each image is a new file).
        string directory = TempDirectory();
        try
        {
            using var sink = new RamImageSink(directory, 1);
            sink.OnBlockList([new RamBlockInfo("x-1", 2L * Page), new RamBlockInfo("x", 2L * Page), new RamBlockInfo("x", 2L * Page)]);
            for (int i = 0; i < 3; i++)
            {
                sink.OnRawPage(i, Page, StreamBuilder.TextPage(20 + i));
            }

            sink.Flush();
            Assert.Equal(3, sink.Blocks.Select(block => block.Path).Distinct().Count());
            Assert.Equal("x-1.raw", Path.GetFileName(sink.Blocks[0].Path));
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(StreamBuilder.TextPage(20 + i), ReadPage(sink.Blocks[i].Path, 1));
                Assert.Equal(new byte[Page], ReadPage(sink.Blocks[i].Path, 0));
            }
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void Allocating_a_range_before_writing_it_changes_neither_the_size_nor_the_bytes()
    {
        string directory = TempDirectory();
        Directory.CreateDirectory(directory);
        try
        {
            string path = Path.Combine(directory, "image.raw");
            using (Microsoft.Win32.SafeHandles.SafeFileHandle file = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite))
            {
                RandomAccess.SetLength(file, 64L * Page);
                RandomAccess.Write(file, StreamBuilder.TextPage(1), 2L * Page);
                Engine.Memory.FileRanges.Allocate(file, 0, 8L * Page);            // over a written page and holes
                Engine.Memory.FileRanges.Allocate(file, 60L * Page, 4L * Page);   // up to the end: the size stays
                RandomAccess.Write(file, StreamBuilder.TextPage(2), 61L * Page);
                Assert.Equal(64L * Page, RandomAccess.GetLength(file));
            }

            byte[] image = File.ReadAllBytes(path);
            var expected = new byte[64 * Page];
            StreamBuilder.TextPage(1).CopyTo(expected, 2 * Page);
            StreamBuilder.TextPage(2).CopyTo(expected, 61 * Page);
            Assert.True(expected.AsSpan().SequenceEqual(image), "allocating a range changed the file's bytes");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static byte[][] AssertExtractMatches(byte[] stream, bool expectInMemory)
    {
        MemoryRamSink expected = StreamBuilder.Load(stream, stopAfterRamEnd: true);
        string directory = TempDirectory();
        try
        {
            RamExtractResult result = RamExtractor.Extract(new MemoryStream(stream), directory, new RamExtractOptions
            {
                Parameters = new MigrationParameters { DecompressThreads = 2 },
                DecompressorFactory = TestCodecs.Decompressor,
            });
            var images = new byte[result.Blocks.Count][];
            for (int i = 0; i < result.Blocks.Count; i++)
            {
                images[i] = File.ReadAllBytes(result.Blocks[i].Path);
                Assert.Equal(expected.Memory[i].Length, images[i].Length);
                Assert.True(expected.Memory[i].AsSpan().SequenceEqual(images[i]), $"image {i} differs from the stream's pages");
            }

            // Which path ran: the same stream through a sink directly.
            string again = Path.Combine(directory, "again");
            using (var sink = new RamImageSink(again, 2, TestCodecs.Decompressor))
            {
                RamStreamLoader.Load(StreamBuilder.Reader(stream, stopAfterRamEnd: true), sink);
                sink.Flush();
                Assert.Equal(expectInMemory, sink.InMemory);
            }

            return images;
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static byte[] Stream(RamBlockInfo[] blocks, Action<MigrationStreamWriter> pages)
    {
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteRamSetupSection(1, blocks);
            writer.WriteSectionHeader(SectionType.End, 1);
            pages(writer);
            writer.EndRamSection();
        }

        return output.ToArray();
    }

    private static byte[] ReadPage(string path, int page)
    {
        using FileStream file = File.OpenRead(path);
        var bytes = new byte[Page];
        file.Position = (long)page * Page;
        file.ReadExactly(bytes);
        return bytes;
    }

    private static string TempDirectory() => Path.Combine(Path.GetTempPath(), "engine-extract-write-" + Guid.NewGuid().ToString("N"));
}
