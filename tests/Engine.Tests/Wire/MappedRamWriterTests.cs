using System.Buffers.Binary;
using System.Runtime.InteropServices;
using System.Text;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Tests.Wire.Support;
using Engine.Tools;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>
/// Engine writes QEMU mapped-ram files (<c>--save-stream F --format mapped-ram</c>, <c>transcode --format mapped-ram</c>):
/// Engine's own reader takes them back byte-exact, zero pages are clear bits and holes, each block's header points where
/// QEMU puts things, and the configuration lists mapped-ram as QEMU's loader checks.
/// </summary>
public sealed class MappedRamWriterTests : IDisposable
{
    private const int Page = PageSizes.PageSize;

    // pc.ram spans two of the writer's 4096-page ranges; pages 256 to 511 are zero (1 MiB, a hole whatever the file
    // system's block size), as is every page i with i % 7 == 3.
    private const int MainPages = 4200;
    private const int VgaPages = 3;
    private const string Rom = "/rom@etc/acpi/tables";

    private readonly DirectoryInfo _dir = Directory.CreateTempSubdirectory("engine-mapped-ram-write-");

    public void Dispose() => _dir.Delete(recursive: true);

    private string this[string name] => Path.Combine(_dir.FullName, name);

    private static bool MainPresent(int i) => i is < 256 or >= 512 && i % 7 != 3;

    private static byte[]? MainPage(int i) => !MainPresent(i) ? null : i % 2 == 0 ? StreamBuilder.TextPage(i) : StreamBuilder.RandomPage(i);

    private static byte[]? VgaPage(int i) => i == 1 ? StreamBuilder.TextPage(1000) : null;

    /// <summary>What follows RAM's END in the test stream: a device section's bytes, EOF, a VM description.</summary>
    private static byte[] Tail()
    {
        byte[] json = Encoding.ASCII.GetBytes("{\"page_size\":4096,\"devices\":[]}");
        var tail = new List<byte> { 0x04, 0, 0, 0, 3 };
        tail.AddRange(StreamBuilder.RandomPage(77).AsSpan(0, 200).ToArray());
        tail.Add(0x00);
        tail.Add(0x06);
        tail.AddRange([0, 0, 0, (byte)json.Length]);
        tail.AddRange(json);
        return [.. tail];
    }

    /// <summary>A single stream (QEMU's layout): RAM with raw and zero page records in two rounds, then <see cref="Tail"/>.</summary>
    private string WriteSource(string name = "source.bin")
    {
        string path = this[name];
        using (FileStream output = File.Create(path))
        using (var writer = new MigrationStreamWriter(output))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-q35-10.0");
            writer.WriteRamSetupSection(2, [new RamBlockInfo("pc.ram", MainPages * (long)Page), new RamBlockInfo("vga.vram", VgaPages * (long)Page), new RamBlockInfo(Rom, Page)]);
            writer.WriteSectionHeader(SectionType.Part, 2);
            for (int i = 0; i < MainPages; i++)
            {
                // The first round sends stale content for some pages; the last round's content is what must arrive.
                if (i % 11 == 0)
                {
                    writer.WriteRawPage(0, (long)i * Page, StreamBuilder.RandomPage(i + 5000));
                }
            }

            writer.EndRamSection();
            writer.WriteSectionHeader(SectionType.End, 2);
            for (int i = 0; i < MainPages; i++)
            {
                if (MainPage(i) is { } page)
                {
                    writer.WriteRawPage(0, (long)i * Page, page);
                }
                else
                {
                    writer.WriteZeroPage(0, (long)i * Page);
                }
            }

            writer.WriteRawPage(1, Page, VgaPage(1)!);
            writer.WriteZeroPage(2, 0);
            writer.EndRamSection();
            writer.WriteRaw(Tail());
        }

        return path;
    }

    private static byte[] Expected(int pages, Func<int, byte[]?> content)
    {
        var image = new byte[pages * Page];
        for (int i = 0; i < pages; i++)
        {
            content(i)?.CopyTo(image, i * Page);
        }

        return image;
    }

    private void AssertExtractsToTheSourceImages(string file, string name)
    {
        string images = this["images-" + name];
        RamExtractResult result = RamExtractor.Extract(file, images);
        Assert.Equal(["pc.ram", "vga.vram", Rom], result.Blocks.Select(b => b.Name));
        Assert.True(Expected(MainPages, MainPage).AsSpan().SequenceEqual(File.ReadAllBytes(result.Blocks[0].Path)), $"{name}: pc.ram differs");
        Assert.Equal(Expected(VgaPages, VgaPage), File.ReadAllBytes(result.Blocks[1].Path));
        Assert.Equal(new byte[Page], File.ReadAllBytes(result.Blocks[2].Path));
    }

    private static TranscodeResult ToMappedRam(string input, string output, int threads = 3)
        => MemoryTranscode.Run(input, output, CompressionSettings.Create(CompressMethod.None, 0), threads, mappedRam: true);

    [Fact]
    public void A_stream_written_as_mapped_ram_reads_back_byte_exact_and_inspect_shows_it()
    {
        string output = this["out.ram"];
        TranscodeResult result = ToMappedRam(WriteSource(), output);

        int mainPresent = Enumerable.Range(0, MainPages).Count(MainPresent);
        Assert.Equal(mainPresent + 1, result.RawPages);
        Assert.Equal(MainPages + VgaPages + 1 - mainPresent - 1, result.ZeroPages);
        Assert.Equal(new FileInfo(output).Length, result.BytesWritten);
        Assert.False(File.Exists(output + ".tmp"));

        using (FileStream file = File.OpenRead(output))
        {
            StreamSummary summary = StreamInspector.Inspect(file);
            Assert.True(summary.MappedRam);
            Assert.True(summary.RamComplete);
            Assert.Equal(["mapped-ram"], summary.Capabilities);
            Assert.Equal("pc-q35-10.0", summary.MachineType);
            Assert.Equal([mainPresent, 1, 0], summary.Blocks.Select(b => b.MappedPages));

            // Only EOS in the RAM sections (START and one END), no page record.
            Assert.Equal(0, summary.Raw.Count + summary.Zero.Count);
            Assert.Equal(2, summary.EndOfSection.Count);
        }

        AssertExtractsToTheSourceImages(output, "mapped");
        byte[] bytes = File.ReadAllBytes(output);
        Assert.Equal(Tail(), bytes.AsSpan(bytes.Length - Tail().Length).ToArray());
    }

    [Fact]
    public void Each_block_has_QEMUs_header_zero_pages_are_clear_bits_and_holes_in_the_file()
    {
        string output = this["out.ram"];
        ToMappedRam(WriteSource(), output);

        using FileStream file = File.OpenRead(output);
        using var reader = new MigrationStreamReader(file, new MigrationStreamReaderOptions { AcceptMappedRam = true, StopAfterRamEnd = true }, leaveOpen: true);
        while (reader.Read() && reader.Kind != MigrationItemKind.RamBlockList)
        {
        }

        IReadOnlyList<MappedRamBlock> blocks = reader.MappedRamBlocks;
        Assert.Equal(3, blocks.Count);
        long previousEnd = -1;
        foreach (MappedRamBlock block in blocks)
        {
            Assert.Equal(1u, block.Version);
            Assert.Equal(block.HeaderOffset + 28, block.BitmapOffset);
            Assert.Equal((block.PageCount + 63) / 64 * 8, block.BitmapSize);
            Assert.Equal(0, block.PagesOffset % (1 << 20));
            Assert.True(block.PagesOffset >= block.BitmapOffset + block.BitmapSize && block.PagesOffset - (1 << 20) < block.BitmapOffset + block.BitmapSize, $"{block.Name}: pages at {block.PagesOffset}");
            if (previousEnd >= 0)
            {
                // The next entry (u8 length, name, be64 used length) starts where the previous block's pages end.
                Assert.Equal(previousEnd + 1 + Encoding.UTF8.GetByteCount(block.Name) + 8, block.HeaderOffset);
            }

            previousEnd = block.PagesOffset + block.Length;
        }

        for (int i = 0; i < MainPages; i++)
        {
            Assert.True(MainPresent(i) == blocks[0].IsPresent(i), $"pc.ram page {i}");
        }

        Assert.Equal([false, true, false], Enumerable.Range(0, VgaPages).Select(i => blocks[1].IsPresent(i)));
        Assert.Equal(0, blocks[2].PagesPresent);

        // The bitmap as QEMU on x86-64 has it: little-endian words, bit i for page i.
        byte[] bytes = File.ReadAllBytes(output);
        ulong first = BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan((int)blocks[0].BitmapOffset));
        Assert.Equal(Enumerable.Range(0, 64).Where(MainPresent).Aggregate(0UL, (w, i) => w | (1UL << i)), first);

        if (OperatingSystem.IsLinux())
        {
            // The zero pages 256 to 511 were never written: no data from their start to their end.
            long holeStart = blocks[0].PagesOffset + (256L * Page);
            long nextData = Lseek(file.SafeFileHandle.DangerousGetHandle().ToInt32(), holeStart, SeekData);
            Assert.True(nextData >= holeStart + (256L * Page), $"data at {nextData}, inside the zero pages [{holeStart}, {holeStart + (256L * Page)})");
        }
    }

    [Fact]
    public void A_mapped_ram_file_transcodes_to_mapped_ram_and_to_a_compressed_stream()
    {
        string mapped = this["first.ram"];
        ToMappedRam(WriteSource(), mapped, threads: 1);
        Assert.True(MemoryTranscode.IsMappedRamFile(mapped));

        string again = this["second.ram"];
        ToMappedRam(mapped, again);
        AssertExtractsToTheSourceImages(again, "again");
        Assert.Equal(File.ReadAllBytes(mapped), File.ReadAllBytes(again));

        string stream = this["stream.bin"];
        MemoryTranscode.Run(mapped, stream, CompressionSettings.Create(CompressMethod.Zstd, 3), 2, mappedRam: false);
        Assert.False(MemoryTranscode.IsMappedRamFile(stream));
        using (FileStream file = File.OpenRead(stream))
        {
            StreamSummary summary = StreamInspector.Inspect(file);
            Assert.False(summary.MappedRam);
            Assert.Empty(summary.Capabilities);
            Assert.True(summary.Zstd.Count > 0);
        }

        AssertExtractsToTheSourceImages(stream, "stream");
    }

    [Fact]
    public void Compression_with_mapped_ram_is_refused_by_name()
    {
        string output = this["out.ram"];
        EngineParameterException e = Assert.Throws<EngineParameterException>(
            () => MemoryTranscode.Run(WriteSource(), output, CompressionSettings.Create(CompressMethod.Zlib, 1), 2, mappedRam: true));
        Assert.Contains("--compress-method zlib", e.Message, StringComparison.Ordinal);
        Assert.Contains("mapped-ram", e.Message, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void A_file_written_at_an_offset_keeps_the_bytes_before_it_and_reads_back_from_there()
    {
        const int Offset = 65536;
        DestinationResult received;
        using (FileStream input = File.OpenRead(WriteSource()))
        {
            received = new DestinationMigration().Run(input);
        }

        string output = this["offset.ram"];
        using (received.Memory)
        {
            using FileStream file = new(output, FileMode.Create, FileAccess.ReadWrite);
            file.Write(Enumerable.Repeat((byte)0xAB, Offset).ToArray());
            long end = MappedRamWriter.Write(file.SafeFileHandle, Offset, received.StreamPrefix, received.RamSectionId, received.RamBlockList, received.Memory.Blocks, received.Tail, 2, out long pages);
            Assert.Equal(file.Length, end);
            Assert.Equal(Enumerable.Range(0, MainPages).Count(MainPresent) + 1, pages);
        }

        byte[] bytes = File.ReadAllBytes(output);
        Assert.All(bytes.AsSpan(0, Offset).ToArray(), b => Assert.Equal(0xAB, b));
        using FileStream read = File.OpenRead(output);
        read.Position = Offset;
        string images = this["images-offset"];
        RamExtractResult result = RamExtractor.Extract(read, images);
        Assert.True(Expected(MainPages, MainPage).AsSpan().SequenceEqual(File.ReadAllBytes(result.Blocks[0].Path)));
        Assert.Equal(Expected(VgaPages, VgaPage), File.ReadAllBytes(result.Blocks[1].Path));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_file_at_an_offset_transcodes_keeping_the_bytes_before_it_and_its_stream_at_the_same_offset(bool mappedRamOut)
    {
        const int Offset = 65536;
        string plain = WriteSource();
        string input = this["prefixed.bin"];
        byte[] header = Enumerable.Range(0, Offset).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(input, [.. header, .. File.ReadAllBytes(plain)]);

        // A stream at the offset to mapped-ram at the offset, and that (a mapped-ram file whose offsets count from the file's start) on again.
        string first = this["first.ram"];
        MemoryTranscode.Run(input, first, CompressionSettings.Create(CompressMethod.None, 0), 2, mappedRam: true, offset: Offset);
        string output = this["out.bin"];
        MemoryTranscode.Run(first, output, CompressionSettings.Create(mappedRamOut ? CompressMethod.None : CompressMethod.Zlib, 1), 2, mappedRam: mappedRamOut, offset: Offset);

        byte[] bytes = File.ReadAllBytes(output);
        Assert.Equal(header, bytes.AsSpan(0, Offset).ToArray());
        using FileStream read = File.OpenRead(output);
        read.Position = Offset;
        StreamSummary summary = StreamInspector.Inspect(read);
        Assert.Equal(mappedRamOut, summary.MappedRam);
        read.Position = Offset;
        RamExtractResult result = RamExtractor.Extract(read, this["images"]);
        Assert.True(Expected(MainPages, MainPage).AsSpan().SequenceEqual(File.ReadAllBytes(result.Blocks[0].Path)));
        Assert.Equal(Expected(VgaPages, VgaPage), File.ReadAllBytes(result.Blocks[1].Path));
    }

    [Fact]
    public void The_capabilities_subsection_is_added_where_QEMU_puts_it()
    {
        byte[] header = [.. "QEVM"u8, 0, 0, 0, 3];
        byte[] configuration = [0x07, 0, 0, 0, 11, .. "pc-q35-10.0"u8];
        byte[] uuid = [0x05, 18, .. "configuration/uuid"u8, 0, 0, 0, 1, .. Enumerable.Range(1, 16).Select(i => (byte)i)];
        byte[] command = [0x08, 0, 2, 0, 0];

        byte[] plain = MappedRamConfiguration.WithMappedRam([.. header, .. configuration, .. uuid, .. command], out bool ignoreShared);
        Assert.False(ignoreShared);
        byte[] capabilities = [0x05, 26, .. "configuration/capabilities"u8, 0, 0, 0, 1, 0, 0, 0, 1, 10, .. "mapped-ram"u8];
        Assert.Equal([.. header, .. configuration, .. capabilities, .. uuid, .. command], plain);

        byte[] ignoreSharedOnly = [0x05, 26, .. "configuration/capabilities"u8, 0, 0, 0, 1, 0, 0, 0, 1, 15, .. "x-ignore-shared"u8];
        byte[] both = MappedRamConfiguration.WithMappedRam([.. header, .. configuration, .. ignoreSharedOnly, .. uuid], out ignoreShared);
        Assert.True(ignoreShared);
        byte[] expected = [0x05, 26, .. "configuration/capabilities"u8, 0, 0, 0, 1, 0, 0, 0, 2, 15, .. "x-ignore-shared"u8, 10, .. "mapped-ram"u8];
        Assert.Equal([.. header, .. configuration, .. expected, .. uuid], both);

        // Already listed: unchanged. Engine's reader takes the result as a mapped-ram configuration.
        Assert.Equal(both, MappedRamConfiguration.WithMappedRam(both, out _));
        using var reader = new MigrationStreamReader(new MemoryStream([.. both, 0x00]), new MigrationStreamReaderOptions { AcceptMappedRam = true });
        Assert.True(reader.Read());
        Assert.True(reader.Read());
        Assert.Equal(MigrationItemKind.Configuration, reader.Kind);
        Assert.True(reader.IsMappedRam);
        Assert.Equal(["x-ignore-shared", "mapped-ram"], reader.ConfigurationCapabilities);
    }

    [Fact]
    public void A_kept_stream_start_that_is_not_a_configuration_is_refused_with_its_offset()
    {
        byte[] header = [.. "QEVM"u8, 0, 0, 0, 3];
        MigrationStreamException e = Assert.Throws<MigrationStreamException>(
            () => MappedRamConfiguration.WithMappedRam([.. header, 0x07, 0, 0, 0, 40, .. "pc"u8], out _));
        Assert.Equal(8, e.Offset);
        Assert.Throws<MigrationStreamException>(() => MappedRamConfiguration.WithMappedRam("QEVM"u8, out _));
        e = Assert.Throws<MigrationStreamException>(
            () => MappedRamConfiguration.WithMappedRam([.. header, 0x07, 0, 0, 0, 2, .. "pc"u8, 0x05, 5, .. "other"u8, 0, 0, 0, 1], out _));
        Assert.Equal(17, e.Offset);
    }

    private const int SeekData = 3;

    [DllImport("libc", EntryPoint = "lseek", SetLastError = true)]
    private static extern long Lseek(int fd, long offset, int whence);
}
