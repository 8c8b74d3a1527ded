using System.Diagnostics;
using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

/// <summary>Cross-checks with the reference <c>zstd</c> command-line tool (CI installs it: <c>apt-get install zstd</c>).</summary>
public sealed class ZstdCliTests : IDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(20);

    private readonly string _directory = Directory.CreateTempSubdirectory("engine-zstd-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(-5)]
    [InlineData(1)]
    [InlineData(19)]
    public void OurFramesDecodeWithTheZstdTool(int level)
    {
        using var compressor = new ZstdPageCompressor(level);
        foreach (string name in new[] { "text", "binary", "zero" })
        {
            byte[] page = TestPages.Create(name, 17);
            string frame = Path.Combine(_directory, $"{name}.zst");
            string output = Path.Combine(_directory, name);
            File.WriteAllBytes(frame, TestPages.Compress(compressor, page));

            Run("-d", "-q", "-f", frame, "-o", output);

            Assert.Equal(page, File.ReadAllBytes(output));
        }
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("-19")]
    [InlineData("--fast=5")]
    public void FramesOfTheZstdToolDecodeWithOurs(string level)
    {
        // The tool adds a content checksum by default, and writes the content size when it knows the file's size.
        using var decompressor = new ZstdPageDecompressor();
        foreach (string name in new[] { "text", "binary", "sparse" })
        {
            byte[] page = TestPages.Create(name, 19);
            string input = Path.Combine(_directory, name);
            string frame = input + ".zst";
            File.WriteAllBytes(input, page);

            Run(level, "-q", "-f", input, "-o", frame);

            var target = new GuardedPage();
            Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(File.ReadAllBytes(frame), target.Span));
            Assert.True(target.Written.SequenceEqual(page));
            target.AssertCanariesIntact();
        }
    }

    [Fact]
    public void StreamedFramesOfTheZstdToolDecodeWithOurs()
    {
        // Read from a pipe, the tool cannot know the size: the frame has no content size field.
        byte[] page = TestPages.Create("text", 23);
        string frame = Path.Combine(_directory, "piped.zst");
        Run(page, "-q", "-c", "--no-check", "-o", frame);
        byte[] payload = File.ReadAllBytes(frame);
        using var decompressor = new ZstdPageDecompressor();
        byte[] decoded = new byte[PageSizes.PageSize];

        Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(payload, decoded));
        Assert.Equal(page, decoded);
    }

    private static void Run(params string[] arguments) => Run(null, arguments);

    private static void Run(byte[]? standardInput, params string[] arguments)
    {
        string tool = File.Exists("/usr/bin/zstd") ? "/usr/bin/zstd" : "zstd";
        var start = new ProcessStartInfo(tool)
        {
            RedirectStandardInput = standardInput is not null,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("zstd did not start");
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException("The zstd command-line tool is missing: install it (apt-get install zstd).", e);
        }

        using (process)
        {
            if (standardInput is not null)
            {
                process.StandardInput.BaseStream.Write(standardInput);
                process.StandardInput.Close();
            }

            string errors = process.StandardError.ReadToEnd();
            Assert.True(process.WaitForExit(s_timeout), "zstd did not finish");
            Assert.True(process.ExitCode == 0, $"zstd {string.Join(' ', arguments)} failed ({process.ExitCode}): {errors}");
        }
    }
}
