using Xunit;

namespace Engine.Tests.Cli;

/// <summary><c>engine extract</c> on small streams made with the writer.</summary>
public sealed class ExtractCommandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    public void Writes_exactly_the_block_images_the_stream_describes(int threads)
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string path = file.WriteTo(scratch["small.bin"]);
        string output = scratch["images"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "extract", path, "--out", output, "--decompress-threads", threads.ToString(System.Globalization.CultureInfo.InvariantCulture));

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(["pc.ram.raw", "rom@etc_acpi_tables.raw"], CliScratch.Entries(output));
        Assert.Equal(file.MainImage, File.ReadAllBytes(Path.Combine(output, "pc.ram.raw")));
        Assert.Equal(file.RomImage, File.ReadAllBytes(Path.Combine(output, "rom@etc_acpi_tables.raw")));
        Assert.Contains($"pc.ram\t32768 bytes\t{Path.Combine(output, "pc.ram.raw")}", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("2 block(s) from", r.StdOut, StringComparison.Ordinal);
        Assert.Contains("pages: 4 compressed, 3 raw, 3 zero, 0 xbzrle", r.StdOut, StringComparison.Ordinal);
    }

    [Fact]
    public void Replaces_older_images_in_an_existing_directory_and_keeps_other_files()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string path = file.WriteTo(scratch["small.bin"]);
        string output = scratch["images"];
        Directory.CreateDirectory(output);
        File.WriteAllBytes(Path.Combine(output, "pc.ram.raw"), new byte[100_000]);
        File.WriteAllText(Path.Combine(output, "notes.txt"), "mine");

        EngineCli.Result r = EngineCli.Run(s_timeout, "extract", path, "--out", output);

        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Equal(["notes.txt", "pc.ram.raw", "rom@etc_acpi_tables.raw"], CliScratch.Entries(output));
        Assert.Equal(file.MainImage, File.ReadAllBytes(Path.Combine(output, "pc.ram.raw")));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(output, "notes.txt")));
    }

    [Fact]
    public void A_truncated_stream_exits_1_naming_the_byte_offset_and_leaves_no_output_directory()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string path = scratch["truncated.bin"];
        File.WriteAllBytes(path, file.Truncated);
        string output = scratch["images"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "extract", path, "--out", output);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"byte offset {file.TruncatedPageBody}", r.StdErr, StringComparison.Ordinal);
        Assert.Contains($"ends at byte {file.Truncated.Length}", r.StdErr, StringComparison.Ordinal);

        // The truncation is in the END section, after both blocks had pages: before the fix, their images were left here.
        Assert.False(Directory.Exists(output), "extract created the output directory, failed, and left it: " + string.Join(", ", Directory.Exists(output) ? CliScratch.Entries(output) : []));
    }

    [Fact]
    public void A_truncated_stream_leaves_an_existing_directory_as_it_was()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string path = scratch["truncated.bin"];
        File.WriteAllBytes(path, file.Truncated);
        string output = scratch["images"];
        Directory.CreateDirectory(output);
        byte[] earlier = Enumerable.Range(0, 5000).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(Path.Combine(output, "pc.ram.raw"), earlier);

        EngineCli.Result r = EngineCli.Run(s_timeout, "extract", path, "--out", output);

        Assert.Equal(1, r.ExitCode);
        Assert.Equal(["pc.ram.raw"], CliScratch.Entries(output));
        Assert.Equal(earlier, File.ReadAllBytes(Path.Combine(output, "pc.ram.raw")));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("256")]
    public void Bad_decompress_threads_exit_2_naming_the_parameter(string threads)
    {
        using var scratch = new CliScratch();
        string path = SmallMigrationFile.Create().WriteTo(scratch["small.bin"]);
        string output = scratch["images"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "extract", path, "--out", output, "--decompress-threads", threads);

        Assert.Equal(2, r.ExitCode);
        Assert.Contains($"decompress-threads {threads} is out of range: accepted 1 to 255", r.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(output));
    }

    [Fact]
    public void A_missing_file_exits_1_naming_it()
    {
        using var scratch = new CliScratch();
        string path = scratch["nothing-here.bin"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "extract", path, "--out", scratch["images"]);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{path}: no such file", r.StdErr, StringComparison.Ordinal);
        Assert.False(Directory.Exists(scratch["images"]));
    }
}
