using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>A stream cut at any byte fails with a MigrationStreamException that points inside what was there; never a hang or a crash.</summary>
public class TruncationTests
{
    [Fact]
    public void Truncation_at_every_byte_is_a_clear_error()
    {
        byte[] full = StreamBuilder.SmallStream();
        for (int length = 0; length < full.Length; length++)
        {
            byte[] prefix = full.AsSpan(0, length).ToArray();
            using var reader = new MigrationStreamReader(new MemoryStream(prefix), new MigrationStreamReaderOptions { StopAfterRamEnd = false });
            MigrationStreamException error = Assert.Throws<MigrationStreamException>(() =>
            {
                while (reader.Read())
                {
                }
            });
            Assert.InRange(error.Offset, 0, length);
            Assert.Contains("end of the stream", error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Truncation_before_ram_end_fails_and_after_it_stops_cleanly()
    {
        byte[] full = StreamBuilder.SmallStream(withEof: false);
        for (int length = 0; length <= full.Length; length++)
        {
            using var reader = new MigrationStreamReader(new MemoryStream(full, 0, length), new MigrationStreamReaderOptions { StopAfterRamEnd = true });
            if (length == full.Length)
            {
                while (reader.Read())
                {
                }

                Assert.True(reader.IsRamComplete);
                Assert.Equal(full.Length, reader.Position);
            }
            else
            {
                Assert.Throws<MigrationStreamException>(() =>
                {
                    while (reader.Read())
                    {
                    }
                });
            }
        }
    }

    [Fact]
    public void Truncated_page_error_names_the_field_and_where_the_stream_ends()
    {
        byte[] full = RawStream.UpToFirstPart().RawPage(0).Finish().ToArray();
        int pageStart = RawStream.UpToFirstPart().Offset + 8 + 7;
        MigrationStreamException error = StreamAssert.Fails(full.AsSpan(0, pageStart + 100).ToArray(), pageStart, "raw page's 4096 bytes", $"ends at byte {pageStart + 100}");
        Assert.Equal(pageStart, error.Offset);
    }
}
