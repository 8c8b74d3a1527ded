using Xunit;
using Engine.Codecs;
using Engine.Memory;
using Engine.Tests.Wire.Support;
using Engine.Wire;

namespace Engine.Tests.Wire;

/// <summary>
/// The worked example of the reference (§2.8), byte for byte: what the writer must produce and the reader must accept.
/// The expected bytes are written out by hand from the format description, not produced by the code under test.
/// </summary>
public class GoldenBytesTests
{
    // zlib level 1 of a page of 4096 'A' (78 01 header, deflate data, Adler-32 0x...): 42 bytes.
    private static readonly byte[] s_zlibPageOfA = Convert.FromHexString(
        "7801edd081100000000321b6f7979ac7ae102a0c183060c0800103060c183060c08081f78101ffad103d");

    private static byte[] Expected()
    {
        var bytes = new List<byte>();
        void Hex(string hex) => bytes.AddRange(Convert.FromHexString(hex.Replace(" ", string.Empty)));

        Hex("51 45 56 4D 00 00 00 03");                                    // magic, version 3
        Hex("07 00 00 00 0A 70 63 2D 71 33 35 2D 37 2E 32");                // configuration "pc-q35-7.2"
        Hex("01 00 00 00 02 03 72 61 6D 00 00 00 00 00 00 00 04");          // START sid 2 "ram" instance 0 version 4
        Hex("00 00 00 00 80 00 00 04");                                    // total 0x80000000 | MEM_SIZE
        Hex("06 70 63 2E 72 61 6D 00 00 00 00 80 00 00 00");                // "pc.ram" 0x80000000
        Hex("00 00 00 00 00 00 00 10");                                    // EOS
        Hex("7E 00 00 00 02");                                             // footer
        Hex("02 00 00 00 02");                                             // PART sid 2
        Hex("00 00 00 00 00 00 00 08 06 70 63 2E 72 61 6D");                // PAGE @0 with idstr
        bytes.AddRange(Enumerable.Repeat((byte)0x5A, PageSizes.PageSize));
        Hex("00 00 00 00 00 00 10 22 00");                                 // ZERO | CONTINUE @0x1000, fill 0
        Hex("00 00 00 00 00 00 21 20 00 00 00 2A");                        // COMPRESS_PAGE | CONTINUE @0x2000, clen 42
        bytes.AddRange(s_zlibPageOfA);
        Hex("00 00 00 00 00 00 00 10 7E 00 00 00 02");                     // EOS, footer
        Hex("03 00 00 00 02");                                             // END sid 2
        Hex("00 00 00 00 00 00 30 02 06 70 63 2E 72 61 6D 00");             // ZERO @0x3000, new section: idstr again
        Hex("00 00 00 00 00 00 00 10 7E 00 00 00 02");                     // EOS, footer
        Hex("00");                                                         // EOF
        return bytes.ToArray();
    }

    [Fact]
    public void Writer_produces_the_worked_example()
    {
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-q35-7.2");
            writer.WriteRamSetupSection(2, new[] { new RamBlockInfo("pc.ram", 0x80000000) });
            writer.WriteSectionHeader(SectionType.Part, 2);
            writer.WriteRawPage(0, 0, Enumerable.Repeat((byte)0x5A, PageSizes.PageSize).ToArray());
            writer.WriteZeroPage(0, 0x1000);
            writer.WriteCompressedPage(0, 0x2000, s_zlibPageOfA);
            writer.EndRamSection();
            writer.WriteSectionHeader(SectionType.End, 2);
            writer.WriteZeroPage(0, 0x3000);
            writer.EndRamSection();
            writer.WriteEof();
        }

        Assert.Equal(Convert.ToHexString(Expected()), Convert.ToHexString(output.ToArray()));
    }

    [Fact]
    public void Reader_reads_the_worked_example_item_by_item()
    {
        byte[] stream = Expected();
        using var reader = new MigrationStreamReader(new MemoryStream(stream), new MigrationStreamReaderOptions { StopAfterRamEnd = false });
        var items = new List<string>();
        while (reader.Read())
        {
            string item = reader.Kind switch
            {
                MigrationItemKind.Configuration => $"config {reader.MachineType}",
                MigrationItemKind.SectionHeader => $"{reader.SectionType} {reader.SectionId}",
                MigrationItemKind.RamBlockList => $"blocks {string.Join(",", reader.Blocks.Select(b => $"{b.Name}:{b.Length:X}"))}",
                MigrationItemKind.ZeroPage or MigrationItemKind.RawPage or MigrationItemKind.CompressedPage
                    => $"{reader.Kind} {reader.BlockIndex}@{reader.PageOffset:X}{(reader.IsContinue ? " C" : string.Empty)} {reader.Payload.Length}",
                _ => reader.Kind.ToString(),
            };
            items.Add($"{reader.ItemOffset}:{item}");
        }

        Assert.Equal(
            new[]
            {
                "0:FileHeader", "8:config pc-q35-7.2", "23:Start 2", "40:blocks pc.ram:80000000", "63:EndOfSection", "71:SectionFooter",
                "76:Part 2", "81:RawPage 0@0 4096", "4192:ZeroPage 0@1000 C 0", "4201:CompressedPage 0@2000 C 42",
                "4255:EndOfSection", "4263:SectionFooter", "4268:End 2", "4273:ZeroPage 0@3000 0", "4289:EndOfSection",
                "4297:SectionFooter", "4302:Eof",
            },
            items);
        Assert.Equal(stream.Length, reader.Position);
        Assert.True(reader.IsRamComplete);
    }

    [Fact]
    public void Golden_zlib_payload_decompresses_to_a_page_of_A()
    {
        var page = new byte[PageSizes.PageSize];
        using var decompressor = new TestZlibDecompressor();
        Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(s_zlibPageOfA, page));
        Assert.All(page, b => Assert.Equal((byte)'A', b));
        Assert.True(PayloadFormat.TryDetect(s_zlibPageOfA, out CompressMethod method));
        Assert.Equal(CompressMethod.Zlib, method);
    }
}
