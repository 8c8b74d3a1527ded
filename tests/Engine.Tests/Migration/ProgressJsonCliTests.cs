using System.Text.Json;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary><c>--progress json</c>: JSON Lines on stdout, one query-migrate-style object a second, then the final object.</summary>
public sealed class ProgressJsonCliTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    [Fact] // every wait on the child processes has its own timeout
    public void MigratePrintsAQueryMigrateLineEverySecondThenTheFinalObjectAndIncomingItsFinalLine()
    {
        string path = Path.Combine(Path.GetTempPath(), $"engine-progress-{Guid.NewGuid():N}.stream");
        try
        {
            // 16 MiB at 2 MiB/s: two to three seconds of sending (a third of the guest is not zero, and goes raw).
            using (EngineProcess migrate = EngineProcess.Start(
                "migrate", "--to", $"file:{path}", "--guest", "synthetic:16M", "--compress-threads", "2", "--compress-method", "none",
                "--max-bandwidth", "2M", "--progress", "json"))
            {
                Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
                string[] lines = migrate.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                Assert.True(lines.Length >= 3, $"expected periodic lines and a final one, got:\n{migrate.StdOut}");
                JsonElement[] objects = lines.Select(l => JsonDocument.Parse(l).RootElement.Clone()).ToArray();

                JsonElement[] periodic = objects[..^1];
                // A tick between the destination's confirmation and the final line (the checksums) already reads completed.
                Assert.All(periodic, o => Assert.Contains(o.GetProperty("status").GetString(), new[] { "setup", "active", "device", "completed" }));
                Assert.Contains(periodic, o => o.GetProperty("status").GetString() == "active");
                long[] transferred = periodic.Select(o => o.GetProperty("ram").GetProperty("transferred").GetInt64()).ToArray();
                Assert.True(transferred.Zip(transferred.Skip(1)).All(p => p.Second >= p.First), string.Join(", ", transferred));
                Assert.Contains(periodic, o => o.GetProperty("ram").GetProperty("transferred").GetInt64() > 0);

                JsonElement final = objects[^1];
                Assert.Equal("completed", final.GetProperty("status").GetString());
                Assert.Equal(16L << 20, final.GetProperty("ram").GetProperty("total").GetInt64());
                Assert.True(final.GetProperty("ram").GetProperty("transferred").GetInt64() >= transferred[^1]);
                Assert.True(final.TryGetProperty("downtime", out _));
                Assert.True(final.TryGetProperty("checksums-equal", out _));
            }

            using EngineProcess incoming = EngineProcess.Start("incoming", "--from", $"file:{path}", "--progress", "json");
            Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
            string last = incoming.StdOut.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
            using JsonDocument restored = JsonDocument.Parse(last);
            Assert.Equal("completed", restored.RootElement.GetProperty("status").GetString());
            Assert.True(restored.RootElement.GetProperty("engine").GetProperty("checksums-verified").GetBoolean());
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".checksums.json");
        }
    }

    [Fact]
    public void AnUnknownProgressFormatIsRefusedBeforeAnythingStarts()
    {
        using EngineProcess migrate = EngineProcess.Start("migrate", "--to", "file:/nonexistent/x", "--progress", "xml");
        Assert.NotEqual(0, migrate.WaitForExit(ProcessTimeout));
        Assert.Contains("xml", migrate.StdErr);
    }
}
