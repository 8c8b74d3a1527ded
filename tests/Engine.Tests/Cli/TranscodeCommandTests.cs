using System.Text.Json;
using Xunit;

namespace Engine.Tests.Cli;

/// <summary><c>engine transcode</c> on small streams made with the writer.</summary>
public sealed class TranscodeCommandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Zstd_then_none_then_zlib_keeps_the_images_and_the_bytes_after_RAM()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string input = file.WriteTo(scratch["small.bin"]);
        (string Method, string Level, string Out)[] steps =
        [
            ("zstd", "3", scratch["zstd.bin"]),
            ("none", "0", scratch["none.bin"]),
            ("zlib", "9", scratch["zlib.bin"]),
        ];

        foreach ((string method, string level, string output) in steps)
        {
            EngineCli.Result r = EngineCli.Run(s_timeout, "transcode", input, output, "--compress-method", method, "--compress-level", level, "--compress-threads", "2");

            Assert.True(r.ExitCode == 0, $"{method}: {r.StdErr}");
            Assert.Contains($"{file.Tail.Length} bytes after RAM copied verbatim", r.StdOut, StringComparison.Ordinal);
            byte[] transcoded = File.ReadAllBytes(output);
            Assert.Equal(file.Tail, transcoded.AsSpan(transcoded.Length - file.Tail.Length).ToArray());
            Assert.False(File.Exists(output + ".tmp"));

            (long zlib, long zstd, long raw) = Counts(output);
            Assert.Equal(method == "zlib" ? 5 : 0, zlib);
            Assert.Equal(method == "zstd" ? 5 : 0, zstd);

            // Zero pages stay zero pages; the two random pages never shrink, so they stay raw whatever the method.
            Assert.Equal(method == "none" ? 7 : 2, raw);

            string images = scratch["images-" + method];
            r = EngineCli.Run(s_timeout, "extract", output, "--out", images);
            Assert.True(r.ExitCode == 0, $"extract of {method}: {r.StdErr}");
            Assert.Equal(file.MainImage, File.ReadAllBytes(Path.Combine(images, "pc.ram.raw")));
            Assert.Equal(file.RomImage, File.ReadAllBytes(Path.Combine(images, "rom@etc_acpi_tables.raw")));
            input = output;
        }
    }

    [Fact]
    public void A_truncated_stream_exits_1_naming_the_byte_offset_and_leaves_no_output()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string input = scratch["truncated.bin"];
        File.WriteAllBytes(input, file.Truncated);
        string output = scratch["out.bin"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "transcode", input, output, "--compress-method", "zstd", "--compress-level", "1", "--compress-threads", "2");

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"byte offset {file.TruncatedPageBody}", r.StdErr, StringComparison.Ordinal);
        Assert.Contains($"ends at byte {file.Truncated.Length}", r.StdErr, StringComparison.Ordinal);
        Assert.Equal(["truncated.bin"], CliScratch.Entries(scratch.Root));
    }

    [Fact]
    public void A_truncated_stream_leaves_an_earlier_output_as_it_was()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string input = scratch["truncated.bin"];
        File.WriteAllBytes(input, file.Truncated);
        string output = file.WriteTo(scratch["out.bin"]);

        EngineCli.Result r = EngineCli.Run(s_timeout, "transcode", input, output, "--compress-method", "zlib");

        Assert.Equal(1, r.ExitCode);
        Assert.Equal(file.Bytes, File.ReadAllBytes(output));
        Assert.Equal(["out.bin", "truncated.bin"], CliScratch.Entries(scratch.Root));
    }

    [Theory]
    [InlineData("compress-method", "lz4", "1", "2", "compress-method 'lz4' is unknown")]
    [InlineData("compress-level", "zlib", "10", "2", "compress-level")]
    [InlineData("compress-level", "zstd", "23", "2", "compress-level")]
    [InlineData("compress-threads", "zlib", "1", "0", "compress-threads 0 is out of range: accepted 1 to 255")]
    [InlineData("compress-threads", "zstd", "1", "256", "compress-threads 256 is out of range: accepted 1 to 255")]
    public void Bad_parameters_exit_2_naming_the_parameter(string parameter, string method, string level, string threads, string expected)
    {
        using var scratch = new CliScratch();
        string input = SmallMigrationFile.Create().WriteTo(scratch["small.bin"]);
        string output = scratch["out.bin"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "transcode", input, output, "--compress-method", method, "--compress-level", level, "--compress-threads", threads);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains(expected, r.StdErr, StringComparison.Ordinal);
        Assert.Contains(parameter, r.StdErr, StringComparison.Ordinal);
        Assert.Equal(["small.bin"], CliScratch.Entries(scratch.Root));
    }

    [Fact]
    public void A_missing_input_exits_1_naming_it()
    {
        using var scratch = new CliScratch();
        string input = scratch["nothing-here.bin"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "transcode", input, scratch["out.bin"], "--compress-method", "zstd", "--compress-level", "3");

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{input}: no such file", r.StdErr, StringComparison.Ordinal);
        Assert.Empty(CliScratch.Entries(scratch.Root));
    }

    private static (long Zlib, long Zstd, long Raw) Counts(string path)
    {
        EngineCli.Result r = EngineCli.Run(s_timeout, "inspect", path, "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using JsonDocument doc = JsonDocument.Parse(r.StdOut);
        JsonElement root = doc.RootElement;
        return (root.GetProperty("zlib").GetProperty("count").GetInt64(), root.GetProperty("zstd").GetProperty("count").GetInt64(), root.GetProperty("raw").GetProperty("count").GetInt64());
    }
}
