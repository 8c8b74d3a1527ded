using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Tests.Wire.Support;
using Engine.Tools;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>
/// QEMU's mapped-ram files (9.0+, libvirt's virsh save format): inspect and extract read each block's pages at their fixed
/// offsets by its bitmap, and every header field that points anywhere wrong is refused with its byte offset.
/// </summary>
public sealed class MappedRamTests : IDisposable
{
    private const int Page = PageSizes.PageSize;
    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("engine-mapped-ram-");

    public void Dispose() => _dir.Delete(recursive: true);

    /// <summary>Two blocks: pc.ram with pages present, zero (bit clear, stale bytes in the file) and never written; a small ROM.</summary>
    private static MappedRamFileBuilder TwoBlocks(int prefix = 0, int alignment = Page, Action<MappedRamFileBuilder.BlockSpec>? tweakFirst = null, Action<MappedRamFileBuilder.BlockSpec>? tweakSecond = null, Action<MemoryStream>? inPart = null)
        => new MappedRamFileBuilder { Prefix = prefix, Alignment = alignment, InPart = inPart }
            .Block("pc.ram", 70, i => i % 3 == 1 ? null : StreamBuilder.RandomPage(i), spec =>
            {
                spec.StaleWhereClear = true;
                tweakFirst?.Invoke(spec);
            })
            .Block("/rom@etc/acpi/tables", 2, i => i == 0 ? StreamBuilder.TextPage(7) : null, tweakSecond);

    private static StreamSummary Inspect(byte[] file, bool seekable = true)
        => StreamInspector.Inspect(seekable ? new MemoryStream(file, writable: false) : new ScriptedStream(file, maxChunk: 5000));

    private string Write(byte[] file, string name = "save.ram")
    {
        string path = Path.Combine(_dir.FullName, name);
        File.WriteAllBytes(path, file);
        return path;
    }

    [Theory]
    [InlineData(true, Page)]
    [InlineData(false, Page)]
    [InlineData(true, 1 << 20)]
    public void Inspect_shows_mapped_ram_and_each_blocks_present_pages_and_offsets(bool seekable, int alignment)
    {
        MappedRamFileBuilder builder = TwoBlocks(alignment: alignment);
        byte[] file = builder.Build();
        StreamSummary summary = Inspect(file, seekable);

        Assert.True(summary.MappedRam);
        Assert.True(summary.RamComplete);
        Assert.Equal(["mapped-ram"], summary.Capabilities);
        Assert.Equal(2, summary.Blocks.Count);
        BlockSummary ram = summary.Blocks[0];
        Assert.Equal(70 - 23, ram.MappedPages); // pages 1, 4, ..., 67 are clear
        Assert.Equal(builder.HeaderOffsets[0] + 28, ram.BitmapOffset);
        Assert.Equal(16, ram.BitmapSize);
        Assert.Equal(0, ram.PagesOffset % alignment);
        Assert.Equal(1, summary.Blocks[1].MappedPages);
        Assert.Equal(8, summary.Blocks[1].BitmapSize);
        Assert.Equal(0, summary.Raw.Count + summary.Zero.Count);
        Assert.Equal(3, summary.EndOfSection.Count);
        Assert.Equal(file.Length, summary.TotalBytes);

        var text = new StringWriter();
        summary.WriteText(text);
        Assert.Contains("mapped-ram:     yes", text.ToString(), StringComparison.Ordinal);
        Assert.Contains($"pages present 47 of 70; bitmap at {ram.BitmapOffset} (16 bytes), pages at {ram.PagesOffset}", text.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Inspect_of_a_seekable_file_seeks_past_the_pages_instead_of_reading_them()
    {
        byte[] file = new MappedRamFileBuilder().Block("pc.ram", 4096, i => i == 4095 ? StreamBuilder.TextPage(1) : null).Build();
        var counting = new CountingStream(file);
        StreamSummary summary = StreamInspector.Inspect(counting);
        Assert.Equal(1, summary.Blocks[0].MappedPages);

        // 16 MiB of pages; the reader takes the header and bitmap, then seeks: what it reads stays far below the file's length.
        Assert.True(counting.BytesRead < 2L * MigrationStreamReaderOptions.MinBufferSize + 65536, $"read {counting.BytesRead} of {file.Length} bytes");
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(0, 4)]
    [InlineData(4096 + 123, 2)]
    public void Extract_rebuilds_each_block_byte_exact_with_clear_bits_as_zero(int prefix, int threads)
    {
        MappedRamFileBuilder builder = TwoBlocks(prefix: prefix);
        byte[] file = builder.Build();
        string path = Write(file);
        string outDir = Path.Combine(_dir.FullName, "out");
        RamExtractResult result;
        using (var input = new FileStream(path, FileMode.Open, FileAccess.Read))
        {
            input.Position = prefix; // a caller's header before the QEVM magic, as libvirt writes
            result = RamExtractor.Extract(input, outDir, new RamExtractOptions { MappedRamThreads = threads });
        }

        Assert.Equal(48, result.Counts.MappedRamPages);
        Assert.Equal(0, result.Counts.RawPages + result.Counts.ZeroPages);
        Assert.Equal(2, result.Blocks.Count);
        for (int i = 0; i < 2; i++)
        {
            Assert.Equal(builder.Expected[i], File.ReadAllBytes(result.Blocks[i].Path));
        }
    }

    [Fact]
    public void Extract_splits_a_large_block_across_workers_and_keeps_runs_across_chunk_edges()
    {
        // More than one work item (4096 pages each): present runs that cross the chunk edge and the last bitmap word.
        int pages = MappedRamRanges.ChunkPages + 100;
        MappedRamFileBuilder builder = new MappedRamFileBuilder()
            .Block("pc.ram", pages, i => (i >= 4000 && i < 4200) || i % 97 == 0 || i == pages - 1 ? StreamBuilder.TextPage(i) : null, spec => spec.StaleWhereClear = true);
        string path = Write(builder.Build());
        RamExtractResult result = RamExtractor.Extract(path, Path.Combine(_dir.FullName, "out"), new RamExtractOptions { MappedRamThreads = 3 });
        Assert.Equal(builder.Expected[0], File.ReadAllBytes(result.Blocks[0].Path));
    }

    [Fact]
    public void MappedRamReader_zeroes_clear_pages_in_a_destination_that_is_not_zero()
    {
        MappedRamFileBuilder builder = TwoBlocks();
        string path = Write(builder.Build());
        using var reader = new MigrationStreamReader(File.OpenRead(path), new MigrationStreamReaderOptions { AcceptMappedRam = true });
        while (reader.Read())
        {
        }

        using var ram = new RamBlock("pc.ram", 70 * Page);
        using var rom = new RamBlock("/rom@etc/acpi/tables", 2 * Page);
        ram.GetSpan(0, (int)ram.Size).Fill(0xEE);
        rom.GetSpan(0, (int)rom.Size).Fill(0xEE);
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);
        long read = MappedRamReader.Load(handle, reader.MappedRamBlocks, [ram, rom], threads: 2, destinationIsZero: false);

        Assert.Equal(48, read);
        Assert.Equal(builder.Expected[0], ram.GetSpan(0, (int)ram.Size).ToArray());
        Assert.Equal(builder.Expected[1], rom.GetSpan(0, (int)rom.Size).ToArray());
    }

    [Theory]
    [InlineData("")]
    [InlineData("events")]
    [InlineData("x-ignore-shared")]
    public void Incoming_from_a_mapped_ram_file_loads_its_pages_and_its_checkpoint_is_an_ordinary_stream(string other)
    {
        string[] otherCapabilities = other.Length == 0 ? [] : [other];
        MappedRamFileBuilder builder = new MappedRamFileBuilder { OtherCapabilities = otherCapabilities }
            .Block("pc.ram", 70, i => i % 3 == 1 ? null : StreamBuilder.RandomPage(i), s => s.StaleWhereClear = true)
            .Block("/rom@etc/acpi/tables", 2, i => i == 0 ? StreamBuilder.TextPage(7) : null);
        string path = Write(builder.Build());
        DestinationResult result;
        using (var input = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
        {
            result = new DestinationMigration().Run(input);
        }

        using (result.Memory)
        {
            Assert.Equal(2, result.Memory.Blocks.Count);
            for (int i = 0; i < 2; i++)
            {
                RamBlock block = result.Memory.Blocks[i];
                Assert.Equal(builder.Expected[i], block.GetSpan(0, (int)block.Size).ToArray());
            }

            // --save-stream: the RAM written as an ordinary stream (no mapped-ram capability, entries without their
            // headers, pages as records) that a reader not asked for mapped-ram loads into the same memory.
            var output = new MemoryStream();
            Checkpoint.Write(output, result, CompressionSettings.Parse("zstd", 3), threads: 2);
            byte[] checkpoint = output.ToArray();
            StreamSummary summary = StreamInspector.Inspect(new MemoryStream(checkpoint));
            Assert.False(summary.MappedRam);
            Assert.Equal(otherCapabilities, summary.Capabilities);
            Assert.Equal(["pc.ram", "/rom@etc/acpi/tables"], summary.Blocks.Select(b => b.Name));
            Assert.Equal(builder.Expected, StreamBuilder.Load(checkpoint, stopAfterRamEnd: true).Memory);
        }
    }

    [Fact]
    public void Incoming_from_a_mapped_ram_stream_that_is_not_a_file_is_refused_at_the_capability()
    {
        byte[] file = TwoBlocks().Build();
        var error = Assert.Throws<MigrationException>(() => new DestinationMigration().Run(new MemoryStream(file)));
        Assert.Contains("mapped-ram", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Cli_inspect_and_extract_read_a_mapped_ram_file_after_a_callers_header()
    {
        const int prefix = 8192 + 5;
        MappedRamFileBuilder builder = TwoBlocks(prefix: prefix, alignment: 1 << 20);
        string path = Write(builder.Build());
        TimeSpan timeout = TimeSpan.FromSeconds(120);

        Cli.EngineCli.Result inspect = Cli.EngineCli.Run(timeout, "inspect", path, "--offset", prefix.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(inspect.ExitCode == 0, inspect.StdErr);
        Assert.Contains("mapped-ram:     yes", inspect.StdOut, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^\s*pc\.ram\s+286720\s+pages present 47 of 70; bitmap at \d+ \(16 bytes\), pages at 1048576\s*$", inspect.StdOut);

        string outDir = Path.Combine(_dir.FullName, "images");
        Cli.EngineCli.Result extract = Cli.EngineCli.Run(timeout, "extract", path, "--out", outDir, "--offset", prefix.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.True(extract.ExitCode == 0, extract.StdErr);
        Assert.Contains("48 mapped-ram (read at their file offsets)", extract.StdOut, StringComparison.Ordinal);
        Assert.Equal(builder.Expected[0], File.ReadAllBytes(Path.Combine(outDir, "pc.ram.raw")));
        Assert.Equal(builder.Expected[1], File.ReadAllBytes(Path.Combine(outDir, "rom@etc_acpi_tables.raw")));

        // Without the offset, the caller's header is not a QEMU stream.
        Cli.EngineCli.Result plain = Cli.EngineCli.Run(timeout, "inspect", path);
        Assert.NotEqual(0, plain.ExitCode);
        Assert.Contains("QEVM", plain.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void Mapped_ram_listed_twice_is_refused_at_the_second()
    {
        byte[] file = new MappedRamFileBuilder { OtherCapabilities = ["mapped-ram"] }.Block("pc.ram", 1, _ => null).Build();
        var error = Assert.Throws<MigrationStreamException>(() => Inspect(file));
        Assert.Equal(file.AsSpan().LastIndexOf("\u000Amapped-ram"u8), error.Offset);
        Assert.Contains("second time", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_reader_not_asked_for_mapped_ram_refuses_it_at_the_capability()
    {
        byte[] file = TwoBlocks().Build();
        var error = Assert.Throws<MigrationStreamException>(() => StreamBuilder.Load(file));
        Assert.Contains("mapped-ram", error.Message, StringComparison.Ordinal);
        Assert.Equal(file.AsSpan().IndexOf("\u000Amapped-ram"u8), error.Offset);
    }

    [Fact]
    public void Extract_from_a_stream_that_is_not_the_file_is_refused()
    {
        byte[] file = TwoBlocks().Build();
        string outDir = Path.Combine(_dir.FullName, "out");
        var error = Assert.Throws<MigrationStreamException>(() => RamExtractor.Extract(new MemoryStream(file), outDir));
        Assert.Contains("fixed file offsets", error.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(outDir));
    }

    public static TheoryData<string, int, string> BadHeaders => new()
    {
        { "version 2", 0, "version 0 or 1" },
        { "page size 8192", 4, "page_size 4096" },
        { "bitmap not after its header", 12, "bitmap_offset" },
        { "pages not page aligned", 20, "multiple of 4096" },
        { "pages over the bitmap", 20, "overlap" },
        { "pages outside the file", 20, "inside the file" },
        { "pages offset overflows", 20, "leave room" },
        { "second block's pages over the first's", 20, "overlap" },
        { "second block's pages over the first's last page", 20, "overlap" },
        { "second block's pages over its own header", 20, "overlap" },
    };

    [Theory]
    [MemberData(nameof(BadHeaders))]
    public void A_wrong_mapped_ram_header_field_is_refused_with_its_offset(string what, int field, string message)
    {
        bool second = what.StartsWith("second", StringComparison.Ordinal);
        Action<MappedRamFileBuilder.BlockSpec> tweak = what switch
        {
            "version 2" => s => s.Version = 2,
            "page size 8192" => s => s.PageSize = 8192,
            "bitmap not after its header" => s => s.BitmapOffset = 4096,
            "pages not page aligned" => s => s.PagesOffset = p => p + 512,
            "pages over the bitmap" => s => s.PagesOffset = _ => 0,
            "pages outside the file" => s => s.PagesOffset = p => p + (1UL << 40),
            "pages offset overflows" => s => s.PagesOffset = _ => ulong.MaxValue & ~4095UL,
            // The second block's own pages region starts one page after the first's ends (its header and bitmap in between).
            "second block's pages over the first's last page" => s => s.PagesOffset = p => p - (2 * Page),
            "second block's pages over its own header" => s => s.PagesOffset = p => p - Page,
            _ => s => s.PagesOffset = _ => 4096, // the first block's pages region starts at 4096
        };
        MappedRamFileBuilder builder = second ? TwoBlocks(tweakSecond: tweak) : TwoBlocks(tweakFirst: tweak);
        byte[] file = builder.Build();
        long expected = builder.HeaderOffsets[second ? 1 : 0] + field;
        foreach (bool seekable in new[] { true, false })
        {
            if (!seekable && what == "pages outside the file")
            {
                continue; // without a length, a pipe finds the end while skipping to the pages (below)
            }

            var error = Assert.Throws<MigrationStreamException>(() => Inspect(file, seekable));
            Assert.Equal(expected, error.Offset);
            Assert.Contains(message, error.Message, StringComparison.Ordinal);
        }

        var extractError = Assert.Throws<MigrationStreamException>(() => RamExtractor.Extract(Write(file), Path.Combine(_dir.FullName, "out")));
        Assert.Equal(expected, extractError.Offset);
    }

    [Fact]
    public void A_bitmap_that_runs_past_the_end_of_the_file_is_refused_at_its_header_before_it_is_read()
    {
        MappedRamFileBuilder builder = TwoBlocks();
        byte[] whole = builder.Build();
        long header = builder.HeaderOffsets[1];

        // Cut 4 bytes into the second block's 8-byte bitmap: a file knows its length and refuses at bitmap_offset (the
        // header's field at +12) before reading; a pipe finds its end at the bitmap's first byte.
        byte[] file = whole[..(int)(header + 28 + 4)];
        var error = Assert.Throws<MigrationStreamException>(() => Inspect(file, seekable: true));
        Assert.Equal(header + 12, error.Offset);
        Assert.Contains("bitmap", error.Message, StringComparison.Ordinal);
        Assert.Contains("inside the file", error.Message, StringComparison.Ordinal);

        var pipeError = Assert.Throws<MigrationStreamException>(() => Inspect(file, seekable: false));
        Assert.Equal(header + 28, pipeError.Offset);
        Assert.Contains("bitmap", pipeError.Message, StringComparison.Ordinal);

        string outDir = Path.Combine(_dir.FullName, "out");
        var extractError = Assert.Throws<MigrationStreamException>(() => RamExtractor.Extract(Write(file), outDir));
        Assert.Equal(header + 12, extractError.Offset);
        Assert.False(Directory.Exists(outDir));
    }

    public static TheoryData<string> PagesRegionsOutsideTheFile => new()
    {
        "past the end",
        "negative",
        "offset plus length overflows",
        "longer than the file",
    };

    /// <summary>
    /// The loader checks each pages region against the file again (the file may have shrunk since it was parsed, or the
    /// blocks may come from elsewhere): it refuses at the block's pages_offset field before any read, and writes nothing.
    /// </summary>
    [Theory]
    [MemberData(nameof(PagesRegionsOutsideTheFile))]
    public void MappedRamReader_refuses_a_pages_region_outside_the_file_before_reading_or_writing(string what)
    {
        string path = Write(new byte[4 * Page]);
        const long HeaderOffset = 300;
        long length = what == "longer than the file" ? 8 * Page : 2 * Page;
        long pagesOffset = what switch
        {
            "past the end" => 3 * Page,
            "negative" => -Page,
            "offset plus length overflows" => long.MaxValue - Page + 1,
            _ => 0,
        };
        var block = new MappedRamBlock("pc.ram", length, HeaderOffset, 1, 0, 8, pagesOffset, [ulong.MaxValue >> (64 - (int)(length / Page))], length / Page);
        using var ram = new RamBlock("pc.ram", length);
        ram.GetSpan(0, (int)ram.Size).Fill(0xEE);
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);

        var error = Assert.Throws<MigrationStreamException>(() => MappedRamReader.Load(handle, [block], [ram], threads: 2, destinationIsZero: false));

        Assert.Equal(HeaderOffset + 20, error.Offset);
        Assert.Contains("inside the file", error.Message, StringComparison.Ordinal);
        Assert.Contains($"{4 * Page} bytes long", error.Message, StringComparison.Ordinal);
        Assert.True(ram.GetSpan(0, (int)ram.Size).IndexOfAnyExcept((byte)0xEE) < 0, "the destination was written before the refusal");

        // The same check before extract copies file to file: nothing written into the target either.
        string targetPath = Path.Combine(_dir.FullName, "target.raw");
        File.WriteAllBytes(targetPath, new byte[length]);
        using (Microsoft.Win32.SafeHandles.SafeFileHandle target = File.OpenHandle(targetPath, FileMode.Open, FileAccess.ReadWrite))
        {
            error = Assert.Throws<MigrationStreamException>(() => MappedRamReader.CopyToFiles(handle, [block], [target], [length], threads: 2));
        }

        Assert.Equal(HeaderOffset + 20, error.Offset);
        Assert.True(File.ReadAllBytes(targetPath).AsSpan().IndexOfAnyExcept((byte)0) < 0, "the target was written before the refusal");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Extract_copies_a_mapped_ram_files_pages_straight_into_the_images_with_clear_bits_as_zero(int threads)
    {
        // No guest-sized memory: the sink stays out of memory; pages whose bit is clear (stale bytes in the file) read zero.
        int pages = MappedRamRanges.ChunkPages + 300;
        MappedRamFileBuilder builder = new MappedRamFileBuilder()
            .Block("pc.ram", pages, i => (i >= 4000 && i < 4400) || i % 89 == 0 ? StreamBuilder.RandomPage(i) : null, spec => spec.StaleWhereClear = true)
            .Block("/rom@etc/acpi/tables", 2, i => i == 1 ? StreamBuilder.TextPage(7) : null);
        string path = Write(builder.Build());
        string outDir = Path.Combine(_dir.FullName, "out");
        using var input = new FileStream(path, FileMode.Open, FileAccess.Read);
        using var reader = new MigrationStreamReader(input, new MigrationStreamReaderOptions { AcceptMappedRam = true }, leaveOpen: true);
        using var sink = new RamImageSink(outDir, 1);
        Assert.True(RamStreamLoader.Load(reader, sink).RamComplete);
        sink.Flush();

        long copied = sink.LoadMappedRam(input, reader, threads, CancellationToken.None);
        sink.Flush();

        Assert.False(sink.InMemory);
        Assert.Equal(Enumerable.Range(0, pages).Count(i => (i >= 4000 && i < 4400) || i % 89 == 0) + 1, copied);
        for (int i = 0; i < 2; i++)
        {
            Assert.True(builder.Expected[i].AsSpan().SequenceEqual(File.ReadAllBytes(sink.Blocks[i].Path)), $"image {i} differs");
        }
    }

    [Fact]
    public void MappedRamReader_refuses_a_file_that_shrank_after_it_was_parsed()
    {
        MappedRamFileBuilder builder = TwoBlocks();
        byte[] whole = builder.Build();
        string path = Write(whole);
        using var reader = new MigrationStreamReader(File.OpenRead(path), new MigrationStreamReaderOptions { AcceptMappedRam = true });
        while (reader.Read())
        {
        }

        // Cut inside the first block's pages: its region no longer fits, and neither does the second's.
        File.WriteAllBytes(path, whole[..(int)(reader.MappedRamBlocks[0].PagesOffset + (10 * Page))]);
        using var ram = new RamBlock("pc.ram", 70 * Page);
        using var rom = new RamBlock("/rom@etc/acpi/tables", 2 * Page);
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);

        var error = Assert.Throws<MigrationStreamException>(() => MappedRamReader.Load(handle, reader.MappedRamBlocks, [ram, rom], threads: 2, destinationIsZero: true));

        Assert.Equal(builder.HeaderOffsets[0] + 20, error.Offset);
        Assert.Contains("'pc.ram'", error.Message, StringComparison.Ordinal);
        Assert.True(ram.GetSpan(0, (int)ram.Size).IndexOfAnyExcept((byte)0) < 0, "the destination was written before the refusal");
    }

    [Fact]
    public void MappedRamReader_refuses_a_bitmap_shorter_than_its_block()
    {
        string path = Write(new byte[4 * Page]);
        var block = new MappedRamBlock("pc.ram", 65 * Page, 300, 1, 0, 8, 0, [ulong.MaxValue], 64);
        using var ram = new RamBlock("pc.ram", 65 * Page);
        using Microsoft.Win32.SafeHandles.SafeFileHandle handle = File.OpenHandle(path);

        var error = Assert.Throws<ArgumentException>(() => MappedRamReader.Load(handle, [block], [ram], threads: 1, destinationIsZero: true));
        Assert.Contains("bitmap has 1 words for 65 pages", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_bitmap_bit_past_the_blocks_last_page_is_refused()
    {
        MappedRamFileBuilder builder = TwoBlocks(tweakFirst: s => s.ExtraBitmapBits = bitmap => bitmap[^1] |= 0x80);
        byte[] file = builder.Build();
        var error = Assert.Throws<MigrationStreamException>(() => Inspect(file));
        Assert.Equal(builder.HeaderOffsets[0] + 28 + 8, error.Offset);
        Assert.Contains("past its last page", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0x08UL, "PAGE")]
    [InlineData(0x02UL, "ZERO")]
    [InlineData(0x40UL, "XBZRLE")]
    [InlineData(0x100UL, "COMPRESS_PAGE")]
    [InlineData(0x200UL, "MULTIFD_FLUSH")]
    public void A_page_or_flush_record_in_a_mapped_ram_stream_is_refused_by_name(ulong flags, string name)
    {
        MappedRamFileBuilder builder = TwoBlocks(inPart: s =>
        {
            MappedRamFileBuilder.Be64(s, flags == 0x200 ? flags : 0x1000 | flags);
            if (flags != 0x200)
            {
                s.WriteByte(6);
                s.Write("pc.ram"u8);
                s.Write(new byte[Page + 8]);
            }
        });
        byte[] file = builder.Build();
        var error = Assert.Throws<MigrationStreamException>(() => Inspect(file));
        Assert.Equal(builder.InPartOffset, error.Offset);
        Assert.Contains($"a {name} record", error.Message, StringComparison.Ordinal);
        Assert.Contains("mapped-ram", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_file_cut_anywhere_is_refused_with_an_offset_inside_it_and_never_read_past()
    {
        byte[] file = TwoBlocks().Build();
        // Every cut before the last byte (EOF, which inspect does not need once RAM's END is in).
        var cuts = Enumerable.Range(0, 600).Concat(Enumerable.Range(600, file.Length - 601).Where(i => i % 509 == 0 || i > file.Length - 40));
        foreach (int cut in cuts)
        {
            byte[] prefix = file[..cut];
            foreach (bool seekable in new[] { true, false })
            {
                var error = Assert.Throws<MigrationStreamException>(() => Inspect(prefix, seekable));
                Assert.InRange(error.Offset, 0, cut);
            }
        }

        // A file cut inside the pages: the pages region is refused at its pages_offset field, before anything is read.
        MappedRamFileBuilder builder = TwoBlocks();
        byte[] whole = builder.Build();
        byte[] cutInPages = whole[..(int)(builder.HeaderOffsets[1] + 28 + 8 + Page)];
        var extractError = Assert.Throws<MigrationStreamException>(() => RamExtractor.Extract(Write(cutInPages), Path.Combine(_dir.FullName, "out")));
        Assert.Equal(builder.HeaderOffsets[1] + 20, extractError.Offset);
        Assert.Contains("inside the file", extractError.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Damaged_block_list_bytes_give_a_clean_refusal_or_a_valid_file()
    {
        MappedRamFileBuilder builder = TwoBlocks();
        byte[] file = builder.Build();
        int first = (int)builder.HeaderOffsets[0];
        int second = (int)builder.HeaderOffsets[1];

        // The first entry (name, length, header, bitmap) and the second; the pages regions themselves are opaque data.
        var positions = Enumerable.Range(first - 20, 20 + 28 + 16).Concat(Enumerable.Range(second - 40, 40 + 28 + 8));
        var random = new Random(5);
        foreach (int i in positions)
        {
            foreach (byte value in new[] { (byte)0x00, (byte)0xFF, (byte)random.Next(256), (byte)(file[i] ^ 0x01) })
            {
                byte[] damaged = (byte[])file.Clone();
                damaged[i] = value;
                try
                {
                    StreamSummary summary = Inspect(damaged);
                    Assert.All(summary.Blocks, b => Assert.InRange(b.PagesOffset!.Value + b.Length, 0, damaged.Length));
                }
                catch (MigrationStreamException e)
                {
                    Assert.InRange(e.Offset, 0, damaged.Length);
                }
            }
        }
    }

    [Fact]
    public void Mutated_mapped_ram_files_parse_or_fail_cleanly_seekable_or_not()
    {
        // Small blocks so that the mutations land mostly on the block list, headers and bitmaps, not on page data.
        byte[] seed = new MappedRamFileBuilder()
            .Block("pc.ram", 3, i => i == 1 ? null : StreamBuilder.TextPage(i), s => s.StaleWhereClear = true)
            .Block("vga.vram", 1, _ => null)
            .Build();
        var mutator = new StreamMutator(seed: 20261207);
        var options = new MigrationStreamReaderOptions { StopAfterRamEnd = false, MaxTotalRamBytes = 4 << 20, AcceptMappedRam = true };
        int inputs = 0;
        byte[]? current = null;
        Exception? finding = null;
        var worker = new Thread(() =>
        {
            try
            {
                for (; inputs < 4000; Volatile.Write(ref inputs, inputs + 1))
                {
                    current = mutator.Mutate(seed);
                    foreach (bool seekable in new[] { true, false })
                    {
                        try
                        {
                            Stream input = seekable ? new MemoryStream(current, writable: false) : new ScriptedStream(current, maxChunk: 300, seed: inputs);
                            using var reader = new MigrationStreamReader(input, options);
                            RamStreamLoader.Load(reader, new MemoryRamSink());
                            Assert.All(reader.MappedRamBlocks, b => Assert.InRange(b.PagesOffset + b.Length, 0, current.Length));
                        }
                        catch (MigrationStreamException e)
                        {
                            Assert.InRange(e.Offset, 0, current.Length);
                        }
                    }
                }
            }
            catch (Exception e)
            {
                finding = e;
            }
        })
        { IsBackground = true, Name = "mapped-ram mutations" };
        worker.Start();

        // A hang shows as no progress for 10 s; the worker is a background thread, so a stuck one cannot keep the host alive.
        int last = -1;
        while (!worker.Join(TimeSpan.FromSeconds(10)))
        {
            int now = Volatile.Read(ref inputs);
            Assert.True(now != last, $"hang: input #{now}: {Convert.ToHexString(current ?? [])}");
            last = now;
        }

        Assert.True(finding is null, $"input #{inputs} threw {finding?.GetType().Name} instead of MigrationStreamException: {finding}\ninput (hex): {Convert.ToHexString(current ?? [])}");
    }

    /// <summary>A seekable stream over bytes that counts what is read from it.</summary>
    private sealed class CountingStream(byte[] data) : MemoryStream(data, writable: false)
    {
        public long BytesRead { get; private set; }

        public override int Read(byte[] buffer, int offset, int count)
        {
            int n = base.Read(buffer, offset, count);
            BytesRead += n;
            return n;
        }

        public override int Read(Span<byte> buffer)
        {
            int n = base.Read(buffer);
            BytesRead += n;
            return n;
        }
    }
}
