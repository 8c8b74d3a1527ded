using System.Text.Json;
using Xunit;

namespace Engine.Tests.Cli;

/// <summary><c>engine inspect</c> on a small stream made with the writer.</summary>
public sealed class InspectCommandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void Text_shows_header_configuration_blocks_records_methods_and_what_follows_RAM()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string path = file.WriteTo(scratch["small.bin"]);

        EngineCli.Result r = EngineCli.Run(s_timeout, "inspect", path);

        Assert.True(r.ExitCode == 0, r.StdErr);
        string[] lines = r.StdOut.Split('\n', StringSplitOptions.TrimEntries);
        Assert.Contains($"file:           QEVM version 3, {file.Bytes.Length} bytes", lines);
        Assert.Contains("configuration:  pc-i440fx-7.2", lines);
        Assert.Contains("ram section:    id 2; START 1, PART 1, END 1; commands 0", lines);
        Assert.Contains("ram blocks:     2, 40960 bytes (0 MiB)", lines);
        Assert.Matches(@"(?m)^\s*pc\.ram\s+32768\s+zero 2, raw 2, compressed 4, xbzrle 0\s*$", r.StdOut);
        Assert.Matches(@"(?m)^\s*/rom@etc/acpi/tables\s+8192\s+zero 1, raw 1, compressed 0, xbzrle 0\s*$", r.StdOut);
        Assert.Matches(@"(?m)^\s*zero\s+3\s+\d+\s*$", r.StdOut);
        Assert.Matches(@"(?m)^\s*raw\s+3\s+\d+\s*$", r.StdOut);
        Assert.Matches(@"(?m)^\s*zlib\s+2\s+\d+\s*$", r.StdOut);
        Assert.Matches(@"(?m)^\s*zstd\s+2\s+\d+\s*$", r.StdOut);
        Assert.Matches(@"(?m)^compression:\s+zlib zstd; ratio \d+\.\d\d over compressed pages\s*$", r.StdOut);
        Assert.Contains("zlib headers:   78 01 1, 78 5E 0, 78 9C 0, 78 DA 1", lines);
        long ramEnd = file.Bytes.Length - file.Tail.Length;
        Assert.Contains($"ram end:        byte {ramEnd}; {file.Tail.Length} bytes follow (device state, EOF, VM description; not parsed)", lines);
    }

    [Fact]
    public void Json_has_the_same_facts_as_fields()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string path = file.WriteTo(scratch["small.bin"]);

        EngineCli.Result r = EngineCli.Run(s_timeout, "inspect", path, "--json");

        Assert.True(r.ExitCode == 0, r.StdErr);
        using JsonDocument doc = JsonDocument.Parse(r.StdOut);
        JsonElement root = doc.RootElement;
        Assert.Equal(3, root.GetProperty("fileVersion").GetInt32());
        Assert.Equal("pc-i440fx-7.2", root.GetProperty("machineType").GetString());
        Assert.Equal(2, root.GetProperty("ramSectionId").GetInt32());
        Assert.Equal(40960, root.GetProperty("totalRamBytes").GetInt64());
        JsonElement[] blocks = root.GetProperty("blocks").EnumerateArray().ToArray();
        Assert.Equal([SmallMigrationFile.MainBlock, SmallMigrationFile.RomBlock], blocks.Select(b => b.GetProperty("name").GetString()));
        Assert.Equal([32768L, 8192L], blocks.Select(b => b.GetProperty("length").GetInt64()));
        Assert.Equal([4L, 0L], blocks.Select(b => b.GetProperty("compressedPages").GetInt64()));
        Assert.Equal(3, root.GetProperty("zero").GetProperty("count").GetInt64());
        Assert.Equal(3, root.GetProperty("raw").GetProperty("count").GetInt64());
        Assert.Equal(2, root.GetProperty("zlib").GetProperty("count").GetInt64());
        Assert.Equal(2, root.GetProperty("zstd").GetProperty("count").GetInt64());
        Assert.Equal(0, root.GetProperty("xbzrle").GetProperty("count").GetInt64());

        // Raw records carry a whole page plus a header, so their bytes say the counts are bytes on the wire.
        Assert.True(root.GetProperty("raw").GetProperty("bytes").GetInt64() > 3 * 4096);
        Assert.True(root.GetProperty("ramComplete").GetBoolean());
        Assert.Equal(file.Bytes.Length - file.Tail.Length, root.GetProperty("ramEndOffset").GetInt64());
        Assert.Equal(file.Tail.Length, root.GetProperty("bytesAfterRam").GetInt64());
        Assert.Equal(file.Bytes.Length, root.GetProperty("totalBytes").GetInt64());
    }

    [Fact]
    public void A_truncated_stream_exits_1_naming_the_byte_offset()
    {
        using var scratch = new CliScratch();
        SmallMigrationFile file = SmallMigrationFile.Create();
        string path = scratch["truncated.bin"];
        File.WriteAllBytes(path, file.Truncated);

        EngineCli.Result r = EngineCli.Run(s_timeout, "inspect", path);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"byte offset {file.TruncatedPageBody}", r.StdErr, StringComparison.Ordinal);
        Assert.Contains($"ends at byte {file.Truncated.Length}", r.StdErr, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", r.StdErr, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_file_exits_1_naming_it()
    {
        using var scratch = new CliScratch();
        string path = scratch["nothing-here.bin"];

        EngineCli.Result r = EngineCli.Run(s_timeout, "inspect", path);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"{path}: no such file", r.StdErr, StringComparison.Ordinal);
    }
}
