using System.Security.Cryptography;
using Engine.Codecs;
using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Wire;

/// <summary>
/// Differential tests against streams real QEMU 7.2 wrote from one frozen guest (tests/interop/make-streams.sh): plain,
/// compress zlib level 1 and zlib level 9 with 2 threads. They must parse completely and rebuild identical RAM, and Engine's
/// transcodes of them must too. Codecs are the test-only adapters until the codecs branch lands.
/// </summary>
public class QemuStreamTests(ITestOutputHelper output)
{
    [InteropFact]
    public void Qemu_streams_parse_completely()
    {
        foreach (string name in InteropStreams.Names)
        {
            StreamSummary summary = StreamInspector.Inspect(InteropStreams.Path(name));
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

    [InteropFact]
    public void Extracting_each_Qemu_stream_gives_identical_block_images()
    {
        string root = TempDirectory();
        try
        {
            Dictionary<string, string>? reference = null;
            foreach (string name in InteropStreams.Names)
            {
                Dictionary<string, string> hashes = ExtractAndHash(InteropStreams.Path(name), Path.Combine(root, name));
                reference ??= hashes;
                Assert.Equal(reference, hashes);
            }
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    [InteropFact]
    public void Transcoding_the_plain_stream_keeps_RAM_and_everything_else()
    {
        string root = TempDirectory();
        try
        {
            string plain = InteropStreams.Path("stream-plain.bin");
            Dictionary<string, string> reference = ExtractAndHash(plain, Path.Combine(root, "plain"));
            foreach (CompressionSettings settings in new[] { CompressionSettings.Create(CompressMethod.Zlib, 1), CompressionSettings.Create(CompressMethod.Zstd, 3) })
            {
                string transcoded = Path.Combine(root, $"{settings}.bin");
                TranscodeResult result = Transcoder.Transcode(plain, transcoded, new TranscodeOptions
                {
                    Settings = settings,
                    CompressThreads = 2,
                    CompressorFactory = TestCodecs.Compressor,
                    DecompressorFactory = TestCodecs.Decompressor,
                });
                output.WriteLine($"{settings}: {result.BytesRead} -> {result.BytesWritten} bytes, compressed {result.CompressedPages}, raw {result.RawPages}, zero {result.ZeroPages}");
                Assert.True(result.CompressedPages > 1000);
                Assert.Equal(reference, ExtractAndHash(transcoded, Path.Combine(root, settings.ToString())));
                AssertSameTail(plain, transcoded, result.BytesCopiedAfterRam);

                // And back to zlib from the compressed stream.
                string back = Path.Combine(root, $"{settings}-back.bin");
                Transcoder.Transcode(transcoded, back, new TranscodeOptions
                {
                    Settings = CompressionSettings.Create(CompressMethod.Zlib, 1),
                    CompressThreads = 2,
                    CompressorFactory = TestCodecs.Compressor,
                    DecompressorFactory = TestCodecs.Decompressor,
                });
                Assert.Equal(reference, ExtractAndHash(back, Path.Combine(root, settings + "-back")));
            }
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
            DecompressThreads = 2,
            DecompressorFactory = TestCodecs.Decompressor,
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
