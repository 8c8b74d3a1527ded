using System.Text.Json;
using Xunit;

namespace Engine.Tests.Cli;

public sealed class CompareCommandTests
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public void ComparesZlibAndZstdOnBuiltInPagesAndVerifiesEveryRoundTrip()
    {
        EngineCli.Result r = EngineCli.Run(s_timeout, "compare", "--pages", "512", "--levels", "1,6", "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using JsonDocument doc = JsonDocument.Parse(r.StdOut);
        JsonElement[] results = doc.RootElement.GetProperty("results").EnumerateArray().ToArray();
        Assert.Equal(4, results.Length);
        Assert.Equal(["zlib-1", "zlib-6", "zstd-1", "zstd-6"], results.Select(e => e.GetProperty("codec").GetString()));
        foreach (JsonElement e in results)
        {
            Assert.True(e.GetProperty("verified").GetBoolean());
            Assert.Equal(512, e.GetProperty("pages").GetInt64());
            Assert.True(e.GetProperty("ratio").GetDouble() > 1.2, $"{e.GetProperty("codec")} ratio too low for the page mix");
            long sum = e.GetProperty("zeroPages").GetInt64() + e.GetProperty("compressedPages").GetInt64() + e.GetProperty("rawPages").GetInt64();
            Assert.Equal(512, sum);
        }
    }

    [Theory]
    [InlineData("1")]
    [InlineData("8")]
    public void ComparesThroughTheMultiThreadEnginesWithTheSameResultAsTheCodecLoop(string threads)
    {
        EngineCli.Result single = EngineCli.Run(s_timeout, "compare", "--pages", "300", "--levels", "1", "--json");
        EngineCli.Result engine = EngineCli.Run(s_timeout, "compare", "--pages", "300", "--levels", "1", "--threads", threads, "--decompress-threads", "2", "--json");
        Assert.True(engine.ExitCode == 0, engine.StdErr);
        using JsonDocument a = JsonDocument.Parse(single.StdOut);
        using JsonDocument b = JsonDocument.Parse(engine.StdOut);
        for (int i = 0; i < 2; i++)
        {
            JsonElement x = a.RootElement.GetProperty("results")[i];
            JsonElement y = b.RootElement.GetProperty("results")[i];
            Assert.True(y.GetProperty("verified").GetBoolean());
            Assert.Equal(int.Parse(threads, System.Globalization.CultureInfo.InvariantCulture), y.GetProperty("compressThreads").GetInt32());

            // The same codec on the same pages writes the same payloads, whichever thread runs it.
            Assert.Equal(x.GetProperty("payloadBytes").GetInt64(), y.GetProperty("payloadBytes").GetInt64());
            Assert.Equal(x.GetProperty("zeroPages").GetInt64(), y.GetProperty("zeroPages").GetInt64());
            Assert.Equal(x.GetProperty("rawPages").GetInt64(), y.GetProperty("rawPages").GetInt64());
        }
    }

    [Fact]
    public void SyntheticContentIsCloseToTheMeasuredGuest()
    {
        EngineCli.Result r = EngineCli.Run(s_timeout, "compare", "--content", "synthetic", "--pages", "2048", "--methods", "zlib", "--levels", "1", "--json");
        Assert.True(r.ExitCode == 0, r.StdErr);
        using JsonDocument doc = JsonDocument.Parse(r.StdOut);
        JsonElement e = doc.RootElement.GetProperty("results")[0];
        double zero = e.GetProperty("zeroPages").GetDouble() / 2048;
        Assert.InRange(zero, 0.54, 0.60);
        Assert.InRange(e.GetProperty("ratio").GetDouble(), 3.06 * 0.9, 3.06 * 1.1);
    }

    [Fact]
    public void ComparesAFileOfPagesPaddingTheLastPartialPage()
    {
        string path = Path.Combine(Path.GetTempPath(), $"engine-compare-{Guid.NewGuid():N}.bin");
        try
        {
            byte[] data = new byte[(3 * 4096) + 100];
            new Random(7).NextBytes(data.AsSpan(0, 4096));
            byte[] text = System.Text.Encoding.ASCII.GetBytes(string.Concat(Enumerable.Repeat("hello guest memory ", 220)));
            text.AsSpan(0, 4096).CopyTo(data.AsSpan(4096));
            text.AsSpan(0, 4096).CopyTo(data.AsSpan(8192));
            File.WriteAllBytes(path, data);
            EngineCli.Result r = EngineCli.Run(s_timeout, "compare", "--file", path, "--methods", "zstd", "--levels", "3", "--json");
            Assert.True(r.ExitCode == 0, r.StdErr);
            using JsonDocument doc = JsonDocument.Parse(r.StdOut);
            JsonElement e = doc.RootElement.GetProperty("results")[0];
            Assert.Equal(4, e.GetProperty("pages").GetInt64());
            Assert.Equal(1, e.GetProperty("zeroPages").GetInt64());
            Assert.Equal(1, e.GetProperty("rawPages").GetInt64());
            Assert.Equal(2, e.GetProperty("compressedPages").GetInt64());
            Assert.Contains("padded", doc.RootElement.GetProperty("source").GetString());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("zstd", "0", "zstd")]
    [InlineData("zlib", "10", "zlib")]
    [InlineData("lz4", "1", "lz4")]
    public void RejectsABadMethodOrLevelBeforeStartingWithAMessageNamingIt(string method, string level, string named)
    {
        EngineCli.Result r = EngineCli.Run(s_timeout, "compare", "--methods", method, "--levels", level, "--pages", "8");
        Assert.Equal(2, r.ExitCode);
        Assert.Contains(named, r.StdErr);
        Assert.Contains("engine: error:", r.StdErr);
        Assert.DoesNotContain("   at ", r.StdErr);
    }

    [Fact]
    public void MissingFileIsAClearError()
    {
        EngineCli.Result r = EngineCli.Run(s_timeout, "compare", "--file", "/nonexistent/pages.bin");
        Assert.Equal(1, r.ExitCode);
        Assert.Contains("/nonexistent/pages.bin", r.StdErr);
    }
}
