using Engine.Codecs;
using Engine.Migration;
using Engine.Tests.Migration;
using Engine.Tests.Wire.Support;
using Engine.Tools;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

/// <summary>
/// QEMU 10.0's MIG_CMD_SWITCHOVER_START (command 11, no body), sent on machine types from 10.0 after the last RAM PART
/// section and before RAM's END: read as a command, taken by a destination, and carried byte for byte by the transcoder and
/// a live relay (a QEMU 10.0 destination accepts it).
/// </summary>
public sealed class SwitchoverStartTests
{
    private const uint RamSectionId = 2;
    private static readonly byte[] s_command = [0x08, 0x00, 0x0B, 0x00, 0x00];

    /// <summary>A QEMU 10.0-shaped stream: RAM (START, PART, command 11, END) then device state, EOF and a VM description.</summary>
    private static byte[] Qemu10Stream(out int commandAt)
    {
        var output = new MemoryStream();
        using (var writer = new MigrationStreamWriter(output, leaveOpen: true))
        {
            writer.WriteFileHeader();
            writer.WriteConfiguration("pc-i440fx-10.0");
            writer.WriteRamSetupSection(RamSectionId, StreamBuilder.TwoBlocks);
            writer.WriteSectionHeader(SectionType.Part, RamSectionId);
            writer.WriteRawPage(0, 0, StreamBuilder.TextPage(1));
            writer.WriteZeroPage(0, 0x1000);
            writer.WriteRawPage(1, 0x1000, StreamBuilder.RandomPage(4));
            writer.EndRamSection();
            writer.Flush();
            commandAt = (int)output.Position;
            writer.WriteRaw(s_command);
            writer.WriteSectionHeader(SectionType.End, RamSectionId);
            writer.WriteRawPage(0, 0xF000, StreamBuilder.RandomPage(6));
            writer.EndRamSection();
            writer.WriteRaw(LivePeerTests.DeviceState());
        }

        return output.ToArray();
    }

    [Fact]
    public void The_reader_reads_command_11_as_a_command_without_a_body()
    {
        byte[] stream = Qemu10Stream(out int at);
        using MigrationStreamReader reader = StreamBuilder.Reader(stream, stopAfterRamEnd: true);
        int commands = 0;
        while (reader.Read())
        {
            if (reader.Kind == MigrationItemKind.Command)
            {
                commands++;
                Assert.Equal(QemuStreamFeatures.SwitchoverStart, reader.CommandId);
                Assert.Equal(at, reader.ItemOffset);
                Assert.Equal(s_command, reader.RawItem.ToArray());
            }
        }

        Assert.Equal(1, commands);
        Assert.True(reader.IsRamComplete);
        Assert.Null(QemuStreamFeatures.DescribeUnsupportedCommand(QemuStreamFeatures.SwitchoverStart));
        Assert.Equal(1, StreamInspector.Inspect(new MemoryStream(stream)).Commands);
    }

    [Fact]
    public void A_destination_takes_command_11_and_loads_the_ram_around_it()
    {
        byte[] stream = Qemu10Stream(out _);
        DestinationResult result = new DestinationMigration(new DestinationOptions { Parameters = new MigrationParameters { DecompressThreads = 2 } }).Run(new MemoryStream(stream));
        using (result.Memory)
        {
            Assert.True(result.FromQemu);
            Assert.Equal(LivePeerTests.DeviceState(), result.Tail);
            MemoryRamSink expected = StreamBuilder.Load(stream, stopAfterRamEnd: true);
            for (int b = 0; b < expected.Memory.Count; b++)
            {
                Assert.True(expected.Memory[b].AsSpan().SequenceEqual(result.Memory.Blocks[b].GetSpan(0, expected.Memory[b].Length)), $"block {b} differs");
            }

            Assert.True(result.Memory.Blocks[0].GetPage(0xF000).SequenceEqual(StreamBuilder.RandomPage(6)));
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void The_transcoder_and_a_live_relay_carry_command_11_verbatim_between_the_sections(bool live)
    {
        byte[] stream = Qemu10Stream(out _);
        var output = new MemoryStream();
        using (var transcoder = new Transcoder(new TranscodeOptions
        {
            Parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2 },
            CompressorFactory = TestCodecs.Compressor,
            DecompressorFactory = TestCodecs.Decompressor,
            Live = live,
        }))
        {
            transcoder.Transcode(new MemoryStream(stream), output);
        }

        byte[] transcoded = output.ToArray();
        using MigrationStreamReader reader = StreamBuilder.Reader(transcoded, stopAfterRamEnd: true);
        var sequence = new List<string>();
        while (reader.Read())
        {
            switch (reader.Kind)
            {
                case MigrationItemKind.Command:
                    Assert.Equal(s_command, reader.RawItem.ToArray());
                    sequence.Add($"command {reader.CommandId}");
                    break;
                case MigrationItemKind.SectionHeader:
                    sequence.Add(reader.SectionType.ToString());
                    break;
            }
        }

        Assert.Equal(["Start", "Part", "command 11", "End"], sequence);
        Assert.Equal(StreamBuilder.Load(stream, stopAfterRamEnd: true).Memory, StreamBuilder.Load(transcoded, stopAfterRamEnd: true).Memory);
        byte[] tail = LivePeerTests.DeviceState();
        Assert.Equal(tail, transcoded.AsSpan(transcoded.Length - tail.Length).ToArray());
    }
}
