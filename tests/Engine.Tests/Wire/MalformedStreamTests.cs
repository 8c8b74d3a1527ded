using Engine.Codecs;
using Engine.Memory;
using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>Every field the reader validates, broken one at a time; each error must name the right byte offset.</summary>
public class MalformedStreamTests
{
    [Fact]
    public void Well_formed_base_stream_reads()
    {
        byte[] stream = RawStream.UpToFirstPart().RawPage(0).Finish().ToArray();
        List<MigrationItemKind> kinds = StreamAssert.ReadAll(stream);
        Assert.Equal(MigrationItemKind.Eof, kinds[^1]);
    }

    [Fact]
    public void Bad_magic() => StreamAssert.Fails(new RawStream().Header(magic: 0x5145564E).ToArray(), 0, "magic", "0x5145564E");

    [Fact]
    public void Version_2_is_rejected() => StreamAssert.Fails(new RawStream().Header(version: 2).Configuration().ToArray(), 4, "version 3", "found 2");

    [Fact]
    public void Empty_stream_is_truncated() => StreamAssert.Fails(Array.Empty<byte>(), 0, "end of the stream");

    [Fact]
    public void Unknown_section_type()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x09).ToArray(), at, "0x09", "unknown section type");
    }

    [Theory]
    [InlineData(0x05, "subsection")]
    [InlineData(0x06, "VM description before EOF")]
    [InlineData(0x7E, "footer outside")]
    public void Misplaced_top_level_bytes(byte type, string fragment)
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(type).Be32(2).ToArray(), at, fragment);
    }

    [Fact]
    public void Second_configuration()
    {
        var s = new RawStream().Header().Configuration().Start().BlockList(("pc.ram", 0x10000)).Eos().Footer();
        int at = s.Offset;
        StreamAssert.Fails(s.Configuration().ToArray(), at, "second configuration");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(257u)]
    [InlineData(0xFFFFFFFFu)]
    public void Machine_type_length_is_capped(uint length)
        => StreamAssert.Fails(new RawStream().Header().U8(0x07).Be32(length).Bytes(new byte[300]).ToArray(), 9, "machine type", $"{length}");

    [Fact]
    public void Unknown_configuration_subsection()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x05).Counted("configuration/nonsense").Be32(1).ToArray(), at + 2, "configuration/nonsense");
    }

    [Fact]
    public void Configuration_subsections_are_read()
    {
        byte[] stream = new RawStream().Header().Configuration()
            .U8(0x05).Counted("configuration/target-page-bits").Be32(1).Be32(12)
            .U8(0x05).Counted("configuration/capabilities").Be32(1).Be32(2).Counted("x-ignore-shared").Counted("other")
            .U8(0x05).Counted("configuration/uuid").Be32(1).Bytes(new byte[16])
            .Start().Be64(0x10000 | 0x04).Counted("pc.ram").Be64(0x10000).Be64(0xC0000000) // x-ignore-shared: block address too
            .Eos().Footer().Section(0x02).RawPage(0).Finish().ToArray();
        using MigrationStreamReader reader = StreamBuilder.Reader(stream);
        while (reader.Read())
        {
        }

        Assert.Equal(new[] { "x-ignore-shared", "other" }, reader.ConfigurationCapabilities);
        Assert.Equal("pc.ram", Assert.Single(reader.Blocks).Name);
    }

    [Fact]
    public void Target_page_bits_other_than_12()
    {
        var s = new RawStream().Header().Configuration().U8(0x05).Counted("configuration/target-page-bits").Be32(1);
        int at = s.Offset;
        StreamAssert.Fails(s.Be32(16).ToArray(), at, "page bits 12", "found 16");
    }

    [Fact]
    public void Too_many_capabilities()
    {
        var s = new RawStream().Header().Configuration().U8(0x05).Counted("configuration/capabilities").Be32(1);
        int at = s.Offset;
        StreamAssert.Fails(s.Be32(100000).ToArray(), at, "at most 64");
    }

    [Fact]
    public void Non_ram_start_section()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.Start(name: "block").ToArray(), at, "'block'", "only the RAM section");
    }

    [Fact]
    public void Ram_version_other_than_4()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.Start(version: 5).ToArray(), at + 1 + 4 + 1 + 3 + 4, "version 4", "found 5");
    }

    [Fact]
    public void Ram_instance_other_than_0()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.Start(instance: 1).ToArray(), at + 1 + 4 + 1 + 3, "instance id 0", "found 1");
    }

    [Fact]
    public void Ram_as_full_section()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x04).Be32(2).Counted("ram").Be32(0).Be32(4).ToArray(), at, "START");
    }

    [Fact]
    public void Empty_section_name()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x01).Be32(2).U8(0).Be32(0).Be32(4).ToArray(), at + 5, "length 0");
    }

    [Fact]
    public void Part_before_start()
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.Section(0x02).Eos().Footer().ToArray(), at, "before the RAM section's START");
    }

    [Fact]
    public void Part_with_wrong_section_id()
    {
        var s = new RawStream().Header().Configuration().Start().BlockList(("pc.ram", 0x10000)).Eos().Footer();
        int at = s.Offset;
        StreamAssert.Fails(s.Section(0x02, id: 3).Eos().Footer(3).ToArray(), at + 1, "section id 2", "found 3");
    }

    [Fact]
    public void Bad_footer_marker()
    {
        var s = new RawStream().Header().Configuration().Start().BlockList(("pc.ram", 0x10000)).Eos();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x7F).Be32(2).ToArray(), at, "footer byte 0x7E", "0x7F");
    }

    [Fact]
    public void Bad_footer_id()
    {
        var s = new RawStream().Header().Configuration().Start().BlockList(("pc.ram", 0x10000)).Eos();
        int at = s.Offset;
        StreamAssert.Fails(s.Footer(id: 7).ToArray(), at + 1, "section id 2", "found 7");
    }

    [Fact]
    public void Second_start()
    {
        var s = RawStream.UpToFirstPart().Eos().Footer();
        int at = s.Offset;
        StreamAssert.Fails(s.Start(id: 5).ToArray(), at, "second START");
    }

    [Fact]
    public void Part_after_end()
    {
        var s = RawStream.UpToFirstPart().Eos().Footer().Section(0x03).Eos().Footer();
        int at = s.Offset;
        StreamAssert.Fails(s.Section(0x02).ToArray(), at, "after the RAM section's END");
    }

    [Fact]
    public void Eof_before_end()
    {
        var s = RawStream.UpToFirstPart().Eos().Footer();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x00).ToArray(), at, "before the RAM section's END");
    }

    [Fact]
    public void Unknown_block_name()
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset + 8;
        StreamAssert.Fails(s.RawPage(0, block: "pc.rom").ToArray(), at, "announced RAM block (pc.ram)", "'pc.rom'");
    }

    [Fact]
    public void Empty_block_name_is_unknown()
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset + 8;
        StreamAssert.Fails(s.Be64(0x08).U8(0).ToArray(), at, "found ''");
    }

    [Fact]
    public void Misaligned_offset_shows_up_as_bad_flags()
    {
        // Offsets are page aligned by construction (the low 12 bits are flags), so a "misaligned" offset is unknown flags.
        var s = RawStream.UpToFirstPart();
        int at = s.Offset;
        StreamAssert.Fails(s.Be64(0x1800 | 0x08).Counted("pc.ram").ToArray(), at, "found 0x808");
    }

    [Fact]
    public void Offset_past_block_end()
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset;
        StreamAssert.Fails(s.RawPage(0x10000).ToArray(), at, "below 0x10000", "found 0x10000");
    }

    [Fact]
    public void Huge_offset_past_block_end()
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset;
        StreamAssert.Fails(s.Be64(0xFFFFFFFFFFFFF000 | 0x02).Counted("pc.ram").U8(0).ToArray(), at, "found 0xFFFFFFFFFFFFF000");
    }

    [Fact]
    public void Continue_first()
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset;
        StreamAssert.Fails(s.RawPage(0, block: null).ToArray(), at, "CONTINUE", "no previous block");
    }

    [Fact]
    public void Page_before_block_list()
    {
        var s = new RawStream().Header().Configuration().Start();
        int at = s.Offset;
        StreamAssert.Fails(s.RawPage(0).ToArray(), at, "before the RAM block list");
    }

    [Theory]
    [InlineData(0x80, "RDMA hook")]
    [InlineData(0x01, "obsolete FULL")]
    [InlineData(0x0A, "unknown combination")]
    [InlineData(0x30, "unknown combination")]
    [InlineData(0x20, "only CONTINUE")]
    [InlineData(0x00, "only CONTINUE")]
    [InlineData(0x400, "unknown combination")]
    [InlineData(0x108, "unknown combination")]
    [InlineData(0x24, "unknown combination")]
    public void Bad_flags(int flags, string fragment)
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset;
        StreamAssert.Fails(s.Be64((ulong)flags).Counted("pc.ram").Bytes(new byte[16]).ToArray(), at, $"0x{flags:X3}", fragment);
    }

    [Fact]
    public void Eos_with_offset_bits()
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset;
        StreamAssert.Fails(s.Be64(0x1000 | 0x10).ToArray(), at, "EOS with offset bits 0");
    }

    [Fact]
    public void Nonzero_fill_byte()
    {
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.Zero);
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x55).ToArray(), at, "fill byte 0x00", "0x55");
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(4175u)]
    [InlineData(0x7FFFFFFFu)]
    [InlineData(0xFFFFFFFFu)]
    public void Compressed_length_out_of_bounds(uint length)
    {
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.CompressPage);
        int at = s.Offset;
        StreamAssert.Fails(s.Be32(length).Bytes(new byte[64]).ToArray(), at, "1 to 4174", $"found {length}");
    }

    [Fact]
    public void Zlib_page_longer_than_compress_bound()
    {
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.CompressPage);
        int at = s.Offset;
        byte[] payload = new byte[4111];
        payload[0] = 0x78;
        payload[1] = 0x01;
        StreamAssert.Fails(s.Be32(4111).Bytes(payload).ToArray(), at, "at most 4110", "found 4111");
    }

    [Fact]
    public void Zstd_page_at_its_bound_is_accepted_by_the_reader()
    {
        byte[] payload = new byte[PageSizes.ZstdBound];
        new byte[] { 0x28, 0xB5, 0x2F, 0xFD }.CopyTo(payload, 0);
        byte[] stream = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.CompressPage).Be32(PageSizes.ZstdBound).Bytes(payload).Finish().ToArray();
        Assert.Contains(MigrationItemKind.CompressedPage, StreamAssert.ReadAll(stream));
    }

    [Fact]
    public void Compressed_payload_of_unknown_format()
    {
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.CompressPage).Be32(8);
        int at = s.Offset;
        StreamAssert.Fails(s.Bytes(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 }).ToArray(), at, "zlib header", "01020304");
    }

    [Fact]
    public void Strict_method_rejects_the_other_method()
    {
        byte[] zlib = TestCodecs.CompressPage(CompressMethod.Zlib, 1, StreamBuilder.TextPage(1));
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.CompressPage).Be32((uint)zlib.Length);
        int at = s.Offset;
        byte[] stream = s.Bytes(zlib).Finish().ToArray();
        StreamAssert.FailsWith(stream, new MigrationStreamReaderOptions { ExpectedCompressMethod = CompressMethod.Zstd }, at, "expected a zstd page", "found a zlib payload");
        Assert.Contains(MigrationItemKind.CompressedPage, StreamAssert.ReadAll(stream));
    }

    [Fact]
    public void Xbzrle_bad_encoding_byte()
    {
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.Xbzrle);
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x02).Be16(2).U8(0).U8(0).ToArray(), at, "encoding byte 0x01");
    }

    [Fact]
    public void Xbzrle_too_long()
    {
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.Xbzrle);
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x01).Be16(4097).Bytes(new byte[4097]).ToArray(), at + 1, "at most 4096", "found 4097");
    }

    [Fact]
    public void Xbzrle_run_past_page_end()
    {
        var s = RawStream.UpToFirstPart().PageHeader(0, RamSaveFlags.Xbzrle).U8(0x01).Be16(5);
        int at = s.Offset;

        // unchanged run 4095 (FF 1F), then a changed run of 2 bytes: one byte past the page.
        StreamAssert.Fails(s.Bytes(new byte[] { 0xFF, 0x1F, 0x02, 0xAA, 0xBB }).ToArray(), at + 2, "past the end of the page");
    }

    [Fact]
    public void Block_list_outside_start()
    {
        var s = RawStream.UpToFirstPart();
        int at = s.Offset;
        StreamAssert.Fails(s.BlockList(("pc.ram", 0x10000)).ToArray(), at, "outside the RAM section's START");
    }

    [Fact]
    public void Second_block_list()
    {
        var s = new RawStream().Header().Configuration().Start().BlockList(("pc.ram", 0x10000));
        int at = s.Offset;
        StreamAssert.Fails(s.BlockList(("pc.ram", 0x10000)).ToArray(), at, "second RAM block list");
    }

    [Fact]
    public void Duplicate_block()
    {
        var s = new RawStream().Header().Configuration().Start().Be64(0x20000 | 0x04).Counted("pc.ram").Be64(0x10000);
        int at = s.Offset;
        StreamAssert.Fails(s.Counted("pc.ram").Be64(0x10000).ToArray(), at, "twice");
    }

    [Theory]
    [InlineData(0x0L)]
    [InlineData(0x1001L)]
    public void Block_length_not_a_page_multiple(long length)
    {
        var s = new RawStream().Header().Configuration().Start().Be64(0x10000 | 0x04).Counted("pc.ram");
        int at = s.Offset;
        StreamAssert.Fails(s.Be64((ulong)length).ToArray(), at, "non-zero multiple of 4096");
    }

    [Fact]
    public void Block_longer_than_the_total()
    {
        var s = new RawStream().Header().Configuration().Start().Be64(0x10000 | 0x04).Counted("pc.ram");
        int at = s.Offset;
        StreamAssert.Fails(s.Be64(0x20000).ToArray(), at, "fit in the announced total");
    }

    [Fact]
    public void Total_ram_is_capped()
    {
        var s = new RawStream().Header().Configuration().Start();
        int at = s.Offset;
        byte[] stream = s.Be64(0x40000000 | 0x04).Counted("pc.ram").Be64(0x40000000).Eos().Footer().ToArray();
        StreamAssert.FailsWith(stream, new MigrationStreamReaderOptions { MaxTotalRamBytes = 0x10000000 }, at, "MaxTotalRamBytes");
    }

    [Fact]
    public void Block_count_is_capped()
    {
        var s = new RawStream().Header().Configuration().Start().Be64((ulong)(MigrationFormat.MaxRamBlocks + 1) * 0x1000 | 0x04);
        for (int i = 0; i < MigrationFormat.MaxRamBlocks; i++)
        {
            s.Counted($"b{i}").Be64(0x1000);
        }

        int at = s.Offset;
        StreamAssert.Fails(s.Counted("last").Be64(0x1000).ToArray(), at, $"at most {MigrationFormat.MaxRamBlocks} RAM blocks");
    }

    [Theory]
    [InlineData(0)]
    [InlineData(12)]
    [InlineData(0xFFFF)]
    [InlineData(7)]
    public void Bad_or_unsupported_command(ushort command)
    {
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x08).Be16(command).Be16(4).Be32(0).ToArray(), at + 1, $"{command}");
    }

    [Theory]
    [InlineData(12)]
    [InlineData(0xFFFF)]
    public void Command_above_switchover_start_names_the_known_range(ushort command)
    {
        var s = RawStream.UpToFirstPart().RawPage(0).Eos().Footer();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x08).Be16(command).Be16(0).ToArray(), at + 1, "expected a command id 1 to 11", "SWITCHOVER_START", $"found {command}");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(4)]
    public void Switchover_start_with_a_body_is_refused_at_its_length(ushort length)
    {
        // QEMU 10.0 sends it bare; the length field is what is wrong.
        var s = RawStream.UpToFirstPart().RawPage(0).Eos().Footer();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x08).Be16(11).Be16(length).Bytes(new byte[length]).Finish().ToArray(), at + 3, "command 11 (SWITCHOVER_START)", $"length of {length}");
    }

    [Fact]
    public void Virtio_mem_early_setup_section_is_refused_by_name()
    {
        // QEMU 8.0+ with a virtio-mem device saves its early vmsd as a FULL section before RAM's START.
        var s = new RawStream().Header().Configuration();
        int at = s.Offset;
        byte[] stream = s.U8(0x04).Be32(1).Counted("0000:00:03.0/virtio-mem-device-early").Be32(0).Be32(1).Bytes(new byte[40]).ToArray();
        StreamAssert.Fails(stream, at, "virtio-mem", "x-early-migration=off", "only the RAM section can be parsed");
    }

    [Fact]
    public void Commands_are_skipped()
    {
        byte[] stream = new RawStream().Header().Configuration().U8(0x08).Be16(2).Be16(4).Be32(1)
            .Start().BlockList(("pc.ram", 0x10000)).Eos().Footer().Section(0x02).RawPage(0).Finish().ToArray();
        Assert.Contains(MigrationItemKind.Command, StreamAssert.ReadAll(stream));
    }

    [Fact]
    public void Multifd_flush_and_vm_description_are_read()
    {
        byte[] json = "{\"page_size\":4096,\"devices\":[]}"u8.ToArray();
        byte[] stream = RawStream.UpToFirstPart().RawPage(0).Be64(0x200).RawPage(0x1000, block: null).Finish()
            .U8(0x06).Be32((uint)json.Length).Bytes(json).ToArray();
        List<MigrationItemKind> kinds = StreamAssert.ReadAll(stream);
        Assert.Contains(MigrationItemKind.MultifdFlush, kinds);
        Assert.Equal(MigrationItemKind.VmDescription, kinds[^1]);
    }

    [Fact]
    public void Garbage_after_eof()
    {
        var s = RawStream.UpToFirstPart().RawPage(0).Finish();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x42).ToArray(), at, "VM description (0x06) or the end of the stream");
    }

    [Fact]
    public void Garbage_after_vm_description()
    {
        var s = RawStream.UpToFirstPart().RawPage(0).Finish().U8(0x06).Be32(2).U8((byte)'{').U8((byte)'}');
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x00).ToArray(), at, "end of the stream after the VM description");
    }

    [Fact]
    public void Vm_description_length_is_capped()
    {
        var s = RawStream.UpToFirstPart().RawPage(0).Finish();
        int at = s.Offset;
        StreamAssert.Fails(s.U8(0x06).Be32(0xFFFFFFFF).ToArray(), at + 1, "at most");
    }

    [Fact]
    public void Truncated_vm_description()
    {
        var s = RawStream.UpToFirstPart().RawPage(0).Finish().U8(0x06).Be32(100);
        int at = s.Offset;
        StreamAssert.Fails(s.Bytes(new byte[10]).ToArray(), at, "VM description JSON", "90 more bytes");
    }
}
