using Engine.Migration;
using System.Security.Cryptography;
using Engine.Codecs;
using Engine.Tests.Qemu;
using Engine.Tools;
using Engine.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Wire;

/// <summary>
/// Differential tests against streams real QEMU 7.2 wrote from one frozen guest (tests/interop/make-streams.sh): plain,
/// compress zlib level 1 and zlib level 9 with 2 threads. They must parse completely and rebuild identical RAM, and Engine's
/// transcodes of them must too. Codecs are Engine's own (native zlib, zstd). The collection fixture makes the streams;
/// where QEMU cannot be had, these are reported as skipped with the reason.
/// </summary>
[Collection(QemuInteropCollection.Name)]
public class QemuStreamTests(QemuInterop qemu, ITestOutputHelper output)
{
    [SkippableFact]
    public void Qemu_streams_parse_completely()
    {
        string work = qemu.RequireStreams();
        foreach (string name in QemuInterop.StreamNames)
        {
            StreamSummary summary = StreamInspector.Inspect(Path.Combine(work, name));
            var text = new StringWriter();
            summary.WriteText(text);
            output.WriteLine($"== {name}\n{text}");
            Assert.True(summary.RamComplete);
            Assert.Equal("pc-i440fx-7.2", summary.MachineType);
            Assert.Contains(summary.Blocks, b => b.Name == "pc.ram");
            Assert.True(summary.BytesAfterRam > 0, "device state follows RAM in a QEMU file");
            if (name.Contains("zlib", StringComparison.Ordinal))
            {
                Assert.True(summary.Zlib.Count > 1000, $"{name}: {summary.Zlib.Count} zlib pages");
            }
            else
            {
                Assert.Equal(0, summary.Zlib.Count);
            }
        }
    }

    [SkippableFact]
    public void Extracting_each_Qemu_stream_gives_identical_block_images()
    {
        string work = qemu.RequireStreams();
        string root = TempDirectory();
        try
        {
            Dictionary<string, string>? reference = null;
            foreach (string name in QemuInterop.StreamNames)
            {
                Dictionary<string, string> hashes = ExtractAndHash(Path.Combine(work, name), Path.Combine(root, name));
                reference ??= hashes;
                Assert.Equal(reference, hashes);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [SkippableFact]
    public void Transcoding_the_plain_stream_to_zstd_and_back_to_zlib_keeps_RAM_and_everything_else()
    {
        string work = qemu.RequireStreams();
        string root = TempDirectory();
        try
        {
            string plain = Path.Combine(work, "stream-plain.bin");
            Dictionary<string, string> reference = ExtractAndHash(plain, Path.Combine(root, "plain"));
            string zstd = Path.Combine(root, "zstd.bin");
            TranscodeResult result = Transcoder.Transcode(plain, zstd, new TranscodeOptions
            {
                Parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.Zstd, 3), CompressThreads = 2 },
            });
            output.WriteLine($"plain -> zstd-3: {result.BytesRead} -> {result.BytesWritten} bytes, compressed {result.CompressedPages}, raw {result.RawPages}, zero {result.ZeroPages}");
            Assert.True(result.CompressedPages > 1000);
            Assert.Equal(reference, ExtractAndHash(zstd, Path.Combine(root, "zstd")));
            AssertSameTail(plain, zstd, result.BytesCopiedAfterRam);

            string zlib = Path.Combine(root, "zlib.bin");
            result = Transcoder.Transcode(zstd, zlib, new TranscodeOptions
            {
                Parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.Zlib, 1), CompressThreads = 2 },
            });
            output.WriteLine($"zstd-3 -> zlib-1: {result.BytesRead} -> {result.BytesWritten} bytes, compressed {result.CompressedPages}, raw {result.RawPages}, zero {result.ZeroPages}");
            Assert.Equal(result.DecompressedPages, StreamInspector.Inspect(zstd).Zstd.Count);
            Assert.Equal(reference, ExtractAndHash(zlib, Path.Combine(root, "zlib")));
            AssertSameTail(plain, zlib, result.BytesCopiedAfterRam);
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void AssertSameTail(string a, string b, long length)
    {
        using FileStream fa = File.OpenRead(a);
        using FileStream fb = File.OpenRead(b);
        fa.Seek(-length, SeekOrigin.End);
        fb.Seek(-length, SeekOrigin.End);
        Assert.Equal(Convert.ToHexString(SHA256.HashData(fa)), Convert.ToHexString(SHA256.HashData(fb)));
    }

    private static Dictionary<string, string> ExtractAndHash(string stream, string directory)
    {
        RamExtractResult result = RamExtractor.Extract(stream, directory, new RamExtractOptions
        {
            Parameters = new MigrationParameters { DecompressThreads = 2 },
        });
        var hashes = new Dictionary<string, string>();
        foreach (ExtractedBlock block in result.Blocks)
        {
            using FileStream file = File.OpenRead(block.Path);
            Assert.Equal(block.Length, file.Length);
            hashes[block.Name] = Convert.ToHexString(SHA256.HashData(file));
        }

        Directory.Delete(directory, recursive: true);
        return hashes;
    }

    private static string TempDirectory()
    {
        string path = Path.Combine(Path.GetTempPath(), "engine-wire-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(path);
        return path;
    }
}
