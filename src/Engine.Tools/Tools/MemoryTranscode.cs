using Engine.Codecs;
using Engine.Migration;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>
/// <c>engine transcode</c> where the record-by-record <see cref="Transcoder"/> cannot go: into a mapped-ram file (whose
/// pages are at fixed offsets, not records) or out of one (whose pages are not in the stream). The input is loaded into
/// memory as <c>engine incoming --from file:</c> does, then written as <c>--save-stream</c> does, in the format asked for.
/// Holds the guest's RAM in memory meanwhile.
/// </summary>
public static class MemoryTranscode
{
    /// <summary>True when <paramref name="path"/> is a QEMU mapped-ram file (its configuration lists the capability).</summary>
    public static bool IsMappedRamFile(string path)
    {
        using FileStream input = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1);
        using var reader = new MigrationStreamReader(input, new MigrationStreamReaderOptions { AcceptMappedRam = true, StopAfterRamEnd = true }, leaveOpen: true);
        while (reader.Read())
        {
            if (reader.Kind == MigrationItemKind.Configuration)
            {
                return reader.IsMappedRam;
            }

            if (reader.Kind != MigrationItemKind.FileHeader)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>
    /// Transcodes <paramref name="inputPath"/> into <paramref name="outputPath"/>: a mapped-ram file when
    /// <paramref name="mappedRam"/> (pages plain; <paramref name="settings"/> must be none), else a single stream with
    /// <paramref name="settings"/>. With <paramref name="offset"/> N the input's stream starts at byte N (QEMU's
    /// <c>file:PATH,offset=N</c>, e.g. after libvirt's save-image header), the output's first N bytes are the input's, and
    /// the output's stream starts at N too. The output is written under a temporary name and renamed when complete.
    /// </summary>
    public static TranscodeResult Run(string inputPath, string outputPath, CompressionSettings settings, int threads, bool mappedRam, long offset = 0, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        if (mappedRam && settings.Method != CompressMethod.None)
        {
            throw new EngineParameterException(
                "compress-method",
                $"--compress-method {CompressionSettings.NameOf(settings.Method)} cannot be used with --format mapped-ram: a mapped-ram file keeps every page "
                + "uncompressed at its fixed offset (QEMU refuses multifd compression with mapped-ram); use --compress-method none");
        }

        var destination = new DestinationMigration(new DestinationOptions { Parameters = new MigrationParameters { DecompressThreads = threads } });
        DestinationResult received;
        byte[] before;
        using (FileStream input = new(inputPath, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
        {
            if (offset < 0 || offset > input.Length)
            {
                throw new EngineParameterException("offset", $"--offset {offset} is outside {inputPath} ({input.Length} bytes)");
            }

            before = new byte[offset];
            input.ReadExactly(before);
            received = destination.Run(input, cancellationToken);
        }

        using (received.Memory)
        {
            var result = new TranscodeResult
            {
                BytesRead = new FileInfo(inputPath).Length - offset,
                BytesCopiedAfterRam = received.Tail.Length,
            };
            OutputFile.WriteThenRename(
                outputPath,
                output =>
                {
                    output.Write(before);
                    if (mappedRam)
                    {
                        long end = Checkpoint.WriteMappedRam(output, offset, received, threads, out long pages, cancellationToken);
                        result.BytesWritten = end - offset;
                        result.RawPages = pages;
                        result.ZeroPages = received.Memory.Blocks.Sum(b => b.PageCount) - pages;
                    }
                    else
                    {
                        result.BytesWritten = Checkpoint.Write(output, received, settings, threads);
                    }

                    return result;
                },
                flushToDisk: true);
            return result;
        }
    }
}
