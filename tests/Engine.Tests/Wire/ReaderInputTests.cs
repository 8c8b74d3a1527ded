using System.Diagnostics;
using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>The reader's input side: short reads, buffer reuse over long streams, stalls, cancellation, failures.</summary>
public class ReaderInputTests
{
    [Fact]
    public void Short_reads_give_the_same_items()
    {
        byte[] stream = StreamBuilder.SmallStream();
        List<MigrationItemKind> expected = StreamAssert.ReadAll(stream);
        foreach (int chunk in new[] { 1, 3, 17, 4099 })
        {
            using var reader = new MigrationStreamReader(new ScriptedStream(stream, chunk), new MigrationStreamReaderOptions { StopAfterRamEnd = false });
            var kinds = new List<MigrationItemKind>();
            while (reader.Read())
            {
                kinds.Add(reader.Kind);
            }

            Assert.Equal(expected, kinds);
        }
    }

    [Fact]
    public void Long_stream_reuses_the_buffer_and_keeps_every_page()
    {
        // 3000 raw pages (12 MiB) through a 1 MiB buffer, in random short reads: many buffer compactions.
        const int Pages = 3000;
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteRamSetupSection(3, new[] { new RamBlockInfo("pc.ram", Pages * 4096L) });
            writer.WriteSectionHeader(SectionType.End, 3);
            for (int i = 0; i < Pages; i++)
            {
                writer.WriteRawPage(0, i * 4096L, StreamBuilder.TextPage(i));
            }

            writer.EndRamSection();
            writer.WriteEof();
        }

        using var reader = new MigrationStreamReader(new ScriptedStream(output.ToArray(), 70000, seed: 3), new MigrationStreamReaderOptions { StopAfterRamEnd = false });
        int seen = 0;
        while (reader.Read())
        {
            if (reader.Kind == MigrationItemKind.RawPage)
            {
                Assert.Equal(seen * 4096L, reader.PageOffset);
                Assert.True(reader.Payload.SequenceEqual(StreamBuilder.TextPage(seen)));
                Assert.Equal(reader.ItemOffset + 8 + (seen == 0 ? 7 : 0), reader.PayloadOffset);
                seen++;
            }
        }

        Assert.Equal(Pages, seen);
        Assert.Equal(output.Length, reader.Position);
    }

    [Fact]
    public void Stalled_input_fails_after_the_read_timeout()
    {
        byte[] stream = StreamBuilder.SmallStream();
        var input = new ScriptedStream(stream.AsSpan(0, 500).ToArray(), atEnd: ScriptedStream.AtEnd.Stall);
        using var reader = new MigrationStreamReader(input, new MigrationStreamReaderOptions { ReadTimeout = TimeSpan.FromMilliseconds(200) });
        var watch = Stopwatch.StartNew();
        MigrationStreamException error = Assert.Throws<MigrationStreamException>(() =>
        {
            while (reader.Read())
            {
            }
        });
        Assert.Contains("stalled", error.Message, StringComparison.Ordinal);
        Assert.Equal(500, error.Offset);
        Assert.InRange(watch.ElapsedMilliseconds, 150, 10000);
    }

    [Fact]
    public void Cancellation_stops_a_stalled_read()
    {
        byte[] stream = StreamBuilder.SmallStream();
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        var input = new ScriptedStream(stream.AsSpan(0, 100).ToArray(), atEnd: ScriptedStream.AtEnd.Stall);
        using var reader = new MigrationStreamReader(input, new MigrationStreamReaderOptions { CancellationToken = cts.Token });
        Assert.ThrowsAny<OperationCanceledException>(() =>
        {
            while (reader.Read())
            {
            }
        });
    }

    [Fact]
    public void Input_failure_becomes_a_stream_error_with_the_offset()
    {
        byte[] stream = StreamBuilder.SmallStream();
        using var reader = new MigrationStreamReader(new ScriptedStream(stream.AsSpan(0, 300).ToArray(), atEnd: ScriptedStream.AtEnd.Fail));
        MigrationStreamException error = Assert.Throws<MigrationStreamException>(() =>
        {
            while (reader.Read())
            {
            }
        });
        Assert.Equal(300, error.Offset);
        Assert.IsType<IOException>(error.InnerException);
    }

    [Fact]
    public void Remainder_after_ram_end_is_copied_byte_for_byte()
    {
        byte[] ram = StreamBuilder.SmallStream(withEof: false);
        byte[] tail = StreamBuilder.RandomPage(99).Concat(new byte[] { 0x04, 0x00, 0x00 }).ToArray();
        byte[] stream = ram.Concat(tail).ToArray();
        using var reader = new MigrationStreamReader(new ScriptedStream(stream, 1000));
        while (reader.Read())
        {
        }

        Assert.True(reader.IsRamComplete);
        Assert.Equal(ram.Length, reader.Position);
        var copy = new MemoryStream();
        Assert.Equal(tail.Length, reader.CopyRemainderTo(copy));
        Assert.Equal(tail, copy.ToArray());
        Assert.False(reader.Read());
    }

    [Fact]
    public void Raw_items_cover_the_stream_exactly()
    {
        byte[] stream = StreamBuilder.SmallStream();
        using var reader = StreamBuilder.Reader(stream);
        var rebuilt = new MemoryStream();
        long expectedOffset = 0;
        while (reader.Read())
        {
            Assert.Equal(expectedOffset, reader.ItemOffset);
            rebuilt.Write(reader.RawItem);
            expectedOffset = reader.Position;
        }

        Assert.Equal(stream, rebuilt.ToArray());
    }
}
