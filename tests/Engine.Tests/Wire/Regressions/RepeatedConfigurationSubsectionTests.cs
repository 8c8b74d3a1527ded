using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire.Regressions;

/// <summary>
/// Bug: the configuration section's subsections are all parsed as one item, and the reader accepted any number of them.
/// A stream repeating one (40 bytes each for <c>configuration/uuid</c>) past the reader's 1 MiB buffer made the item
/// outgrow the buffer, and the reader threw <see cref="InvalidOperationException"/> ("an item needs more than the
/// reader's buffer") instead of a <see cref="MigrationStreamException"/>. AFL cannot reach it (its inputs stop at 1 MiB,
/// the buffer's size); it was found reviewing the reader for the fuzz harness. Fix: each subsection may appear once, as
/// QEMU writes them, which bounds the item.
/// </summary>
public class RepeatedConfigurationSubsectionTests
{
    private const int UuidSubsectionLength = 2 + 18 + 4 + 16;

    [Fact]
    public void A_megabyte_of_repeated_subsections_fails_with_a_stream_error()
    {
        RawStream stream = new RawStream().Header().Configuration();
        int first = stream.Offset;
        for (int i = 0; i < 30_000; i++)
        {
            Uuid(stream);
        }

        Assert.True(stream.Offset > MigrationStreamReaderOptions.MinBufferSize);
        StreamAssert.Fails(stream.ToArray(), first + UuidSubsectionLength + 2, "configuration/uuid", "second time");
    }

    [Theory]
    [InlineData("configuration/target-page-bits")]
    [InlineData("configuration/capabilities")]
    [InlineData("configuration/uuid")]
    public void A_repeated_subsection_is_rejected_at_its_name(string name)
    {
        RawStream stream = Subsection(Subsection(new RawStream().Header().Configuration(), name), name, out int second);
        StreamAssert.Fails(stream.Start().ToArray(), second + 2, name, "second time");
    }

    [Fact]
    public void Each_subsection_once_still_reads()
    {
        RawStream stream = new RawStream().Header().Configuration();
        Subsection(stream, "configuration/target-page-bits");
        Subsection(stream, "configuration/capabilities");
        Subsection(stream, "configuration/uuid");
        byte[] bytes = stream.Start().BlockList(("pc.ram", 0x2000)).Eos().Footer().Section(0x03).Eos().Footer().U8(0x00).ToArray();

        List<MigrationItemKind> kinds = StreamAssert.ReadAll(bytes);

        Assert.Equal(MigrationItemKind.Configuration, kinds[1]);
        Assert.Equal(MigrationItemKind.Eof, kinds[^1]);
    }

    private static RawStream Uuid(RawStream stream) => stream.U8(0x05).Counted("configuration/uuid").Be32(1).Bytes(new byte[16]);

    private static RawStream Subsection(RawStream stream, string name) => Subsection(stream, name, out _);

    private static RawStream Subsection(RawStream stream, string name, out int at)
    {
        at = stream.Offset;
        stream.U8(0x05).Counted(name).Be32(1);
        return name switch
        {
            "configuration/target-page-bits" => stream.Be32(12),
            "configuration/capabilities" => stream.Be32(1).Counted("xbzrle"),
            _ => stream.Bytes(new byte[16]),
        };
    }
}
