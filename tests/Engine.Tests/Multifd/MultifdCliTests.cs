using System.Text.Json;
using System.Text.RegularExpressions;
using Engine.Tests.Migration;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary><c>engine migrate</c> and <c>engine incoming</c> with multifd, as two real processes.</summary>
public sealed class MultifdCliTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    [Fact] // every wait on the child processes has its own timeout
    public void MigrateAndIncomingWithMultifdZstdOverThreeChannels()
    {
        using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--multifd-channels", "3", "--multifd-compression", "zstd", "--json");
        string line = incoming.WaitForStdErrLine("listening on", ProcessTimeout);
        int port = int.Parse(Regex.Match(line, @":(\d+)\s*$").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        using EngineProcess migrate = EngineProcess.Start(
            "migrate", "--to", $"tcp:127.0.0.1:{port}", "--guest", "synthetic:8M,vga.vram:1M", "--dirty-rate", "2000",
            "--multifd-channels", "3", "--multifd-compression", "zstd", "--multifd-zstd-level", "3", "--max-bandwidth", "0", "--json");
        Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
        Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
        using JsonDocument source = JsonDocument.Parse(migrate.StdOut);
        Assert.Equal("completed", source.RootElement.GetProperty("status").GetString());
        Assert.True(source.RootElement.GetProperty("checksums-equal").GetBoolean());
        using JsonDocument destination = JsonDocument.Parse(incoming.StdOut);
        Assert.True(destination.RootElement.GetProperty("compression").GetProperty("pages").GetInt64() > 0);
    }

    [Fact] // every wait on the child processes has its own timeout
    public void MultifdMigrateProgressLinesFollowTheMultifdMigrationAndIncomingEndsInQueryMigrateNames()
    {
        // Regression: the progress lines were wired to a single-stream migration that multifd never runs, so every line
        // read status "none" with all counters 0; and incoming's final object used names of its own.
        using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--multifd-channels", "2", "--multifd-compression", "none", "--json");
        string line = incoming.WaitForStdErrLine("listening on", ProcessTimeout);
        int port = int.Parse(Regex.Match(line, @":(\d+)\s*$").Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        // 16 MiB at 4 MiB/s: a few seconds of sending, so periodic lines come while pages move.
        using EngineProcess migrate = EngineProcess.Start(
            "migrate", "--to", $"tcp:127.0.0.1:{port}", "--guest", "synthetic:16M", "--multifd-channels", "2",
            "--multifd-compression", "none", "--max-bandwidth", "4M", "--progress", "json");
        Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
        Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
        JsonElement[] lines = migrate.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();
        Assert.True(lines.Length >= 2, migrate.StdOut);
        Assert.DoesNotContain(lines, o => o.GetProperty("status").GetString() == "none");
        Assert.Contains(lines[..^1], o => o.GetProperty("status").GetString() == "active" && o.GetProperty("ram").GetProperty("transferred").GetInt64() > 0);
        Assert.Equal("completed", lines[^1].GetProperty("status").GetString());

        using JsonDocument destination = JsonDocument.Parse(incoming.StdOut);
        JsonElement root = destination.RootElement;
        Assert.Equal("completed", root.GetProperty("status").GetString());
        Assert.True(root.GetProperty("total-time").GetInt64() >= 0);
        Assert.True(root.GetProperty("ram").GetProperty("transferred").GetInt64() > 1L << 20);
        Assert.True(root.GetProperty("ram").GetProperty("duplicate").GetInt64() > 0);
        Assert.True(root.GetProperty("ram").GetProperty("normal").GetInt64() > 0);
        Assert.Equal("engine", root.GetProperty("engine").GetProperty("source").GetString());
        Assert.False(root.TryGetProperty("zeroPages", out _));
        Assert.False(root.TryGetProperty("elapsedMs", out _));
    }

    [Theory] // the command exits at once
    [InlineData("--multifd-channels", "0", "multifd-channels 0 is out of range: accepted 1 to 255")]
    [InlineData("--multifd-compression", "lz4", "multifd-compression 'lz4' is not accepted: none, zlib or zstd")]
    [InlineData("--multifd-zstd-level", "21", "multifd-zstd-level 21 is out of range: accepted 0 to 20")]
    [InlineData("--multifd-zlib-level", "10", "multifd-zlib-level 10 is out of range: accepted 0 to 9")]
    public void BadMultifdParameterIsRefusedBeforeAnythingStarts(string option, string value, string message)
    {
        using EngineProcess migrate = EngineProcess.Start("migrate", "--to", "tcp:127.0.0.1:1", "--guest", "synthetic:1M", option, value);
        Assert.NotEqual(0, migrate.WaitForExit(ProcessTimeout));
        Assert.Contains(message, migrate.StdErr);
    }
}
