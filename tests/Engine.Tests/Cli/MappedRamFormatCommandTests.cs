using Xunit;

namespace Engine.Tests.Cli;

/// <summary>
/// <c>--format mapped-ram</c> of <c>engine transcode</c> and <c>engine incoming --save-stream</c>: the file written is one
/// that inspect calls mapped-ram and extract reads back; compression and a format without a file to write are refused by name.
/// </summary>
public sealed class MappedRamFormatCommandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Transcode_and_incoming_write_mapped_ram_files_that_extract_to_the_same_images()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string input = file.WriteTo(scratch["small.bin"]);

        string transcoded = scratch["transcoded.ram"];
        EngineCli.Result r = EngineCli.Run(s_timeout, "transcode", input, transcoded, "--format", "mapped-ram", "--compress-threads", "2");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("mapped-ram", r.StdOut, StringComparison.Ordinal);

        string saved = scratch["saved.ram"];
        r = EngineCli.Run(s_timeout, "incoming", "--from", "file:" + input, "--save-stream", saved, "--format", "mapped-ram");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Contains("(mapped-ram)", r.StdErr, StringComparison.Ordinal);
        Assert.Equal(File.ReadAllBytes(transcoded), File.ReadAllBytes(saved));

        r = EngineCli.Run(s_timeout, "inspect", saved);
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Matches("(?m)^mapped-ram: *yes", r.StdOut);

        // A mapped-ram IN goes back to a single stream too.
        string back = scratch["back.bin"];
        r = EngineCli.Run(s_timeout, "transcode", saved, back, "--compress-method", "zstd", "--compress-level", "3");
        Assert.True(r.ExitCode == 0, r.StdErr);

        foreach (string output in new[] { saved, back })
        {
            string images = scratch["images-" + Path.GetFileName(output)];
            r = EngineCli.Run(s_timeout, "extract", output, "--out", images);
            Assert.True(r.ExitCode == 0, $"extract of {output}: {r.StdErr}");
            Assert.Equal(file.MainImage, File.ReadAllBytes(Path.Combine(images, "pc.ram.raw")));
            Assert.Equal(file.RomImage, File.ReadAllBytes(Path.Combine(images, "rom@etc_acpi_tables.raw")));
        }
    }

    [Theory]
    [InlineData("transcode", "zlib")]
    [InlineData("transcode", "zstd")]
    [InlineData("incoming", "zstd")]
    public void Compression_with_format_mapped_ram_is_refused_by_name(string command, string method)
    {
        using var scratch = new CliScratch();
        string input = SmallMigrationFile.Create().WriteTo(scratch["small.bin"]);
        string output = scratch["out.ram"];
        string[] args = command == "transcode"
            ? ["transcode", input, output, "--format", "mapped-ram", "--compress-method", method]
            : ["incoming", "--from", "file:" + input, "--save-stream", output, "--format", "mapped-ram", "--compress-method", method];

        EngineCli.Result r = EngineCli.Run(s_timeout, args);

        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains($"--compress-method {method} cannot be used with --format mapped-ram", r.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(output));
    }

    [Fact]
    public void Format_mapped_ram_without_save_stream_and_an_unknown_format_are_refused()
    {
        using var scratch = new CliScratch();
        string input = SmallMigrationFile.Create().WriteTo(scratch["small.bin"]);

        EngineCli.Result r = EngineCli.Run(s_timeout, "incoming", "--from", "file:" + input, "--format", "mapped-ram");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("--format mapped-ram is the format of --save-stream FILE", r.StdErr, StringComparison.Ordinal);

        r = EngineCli.Run(s_timeout, "transcode", input, scratch["out.bin"], "--format", "sparse");
        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains("sparse", r.StdErr, StringComparison.Ordinal);
        Assert.False(File.Exists(scratch["out.bin"]));
    }
}
