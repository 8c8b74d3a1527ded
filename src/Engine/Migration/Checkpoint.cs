using Engine.Codecs;
using Engine.Memory;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// <c>engine incoming --save-stream</c>: writes what a destination received as one QEMU migration stream that QEMU 7.2 loads
/// (<c>-incoming "exec:cat FILE"</c>; with the compress capability on for zlib): the received file header, configuration
/// and commands verbatim, the RAM section with the received block list and every page of the final memory once (zero pages
/// as ZERO records, the rest compressed with the given method and level, raw when a page does not shrink), and then the
/// bytes received after RAM's END (device state, EOF, VM description) verbatim.
/// </summary>
/// <remarks>
/// Pages are compressed on <c>threads</c> workers, a batch at a time, and written in page order by the calling thread. The
/// file is written under a temporary name and renamed only when complete, so a failure leaves no partial checkpoint.
/// </remarks>
public static class Checkpoint
{
    private const int BatchPages = 256;

    /// <summary>Writes <paramref name="received"/> to <paramref name="path"/>; returns the bytes written.</summary>
    public static long Save(string path, DestinationResult received, CompressionSettings settings, int threads)
    {
        CheckSave(path, received, threads);
        return WriteThenRename(path, file => Write(file, received, settings, threads));
    }

    /// <summary>
    /// Writes <paramref name="received"/> to <paramref name="path"/> as a QEMU mapped-ram file (<see cref="MappedRamWriter"/>),
    /// which QEMU 9.0+ restores with <c>migrate-incoming file:PATH</c> and the mapped-ram capability on (multifd on or off).
    /// Pages are uncompressed (mapped-ram has no compressed form); zero pages are holes. Returns the file's length; the
    /// file is written under a temporary name and renamed when complete.
    /// </summary>
    internal static long SaveMappedRam(string path, DestinationResult received, int threads, CancellationToken cancellationToken = default)
    {
        CheckSave(path, received, threads);
        return WriteThenRename(path, file => MappedRamWriter.Write(
            file.SafeFileHandle,
            0,
            received.StreamPrefix,
            received.RamSectionId,
            received.RamBlockList,
            received.Memory.Blocks,
            received.Tail,
            threads,
            out _,
            cancellationToken));
    }

    /// <summary>The checks both saves make before any file is made.</summary>
    private static void CheckSave(string path, DestinationResult received, int threads)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(received);
        ThreadCounts.Check("compress-threads", threads);
        if (received.RamBlockList.Length == 0 || received.StreamPrefix.Length == 0)
        {
            // A result the host put together itself, not one a destination returned: an argument error, before any file is made.
            throw new ArgumentException(
                "the received stream's header and RAM block list were not kept: pass the DestinationResult a DestinationMigration or MultifdDestination returned",
                nameof(received));
        }
    }

    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/> under a temporary name, flushed to disk, and renames it
    /// only when complete: a failure leaves no partial checkpoint. Returns what <paramref name="write"/> returned.
    /// </summary>
    private static long WriteThenRename(string path, Func<FileStream, long> write)
    {
        string temporary = path + ".tmp";
        try
        {
            long written;
            using (FileStream file = new(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
                written = write(file);
                file.Flush(flushToDisk: true);
            }

            File.Move(temporary, path, overwrite: true);
            return written;
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Cleaning up must not hide the error that made the save fail.
            }

            throw;
        }
    }

    /// <summary>Writes the checkpoint stream to <paramref name="output"/> (not disposed); returns the bytes written.</summary>
    public static long Write(Stream output, DestinationResult received, CompressionSettings settings, int threads)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(received);
        IReadOnlyList<RamBlock> blocks = received.Memory.Blocks;
        RamBlockInfo[] infos = blocks.Select(b => new RamBlockInfo(b.Name, b.Size)).ToArray();
        uint id = received.RamSectionId;
        var compressors = new IPageCompressor?[threads];
        try
        {
            if (settings.Method != CompressMethod.None)
            {
                for (int i = 0; i < threads; i++)
                {
                    compressors[i] = PageCodecs.CreateCompressor(settings);
                }
            }

            using var writer = new MigrationStreamWriter(output, leaveOpen: true);
            writer.WriteRaw(received.StreamPrefix);
            writer.WriteRamSectionStart(id);
            writer.WriteRawRamBlockList(received.RamBlockList, infos);
            writer.EndRamSection();
            writer.WriteSectionHeader(SectionType.Part, id);

            byte[] outputs = GC.AllocateUninitializedArray<byte>(BatchPages * PageSizes.MaxCompressedPage);
            var kinds = new MigrationItemKind[BatchPages];
            var lengths = new int[BatchPages];
            for (int b = 0; b < blocks.Count; b++)
            {
                RamBlock block = blocks[b];
                for (long first = 0; first < block.PageCount; first += BatchPages)
                {
                    int count = (int)Math.Min(BatchPages, block.PageCount - first);
                    int workers = Math.Min(threads, count);
                    Parallel.For(0, workers, new ParallelOptions { MaxDegreeOfParallelism = workers }, worker =>
                    {
                        IPageCompressor? compressor = compressors[worker];
                        for (int slot = worker; slot < count; slot += workers)
                        {
                            ReadOnlySpan<byte> page = block.GetPage((first + slot) << PageSizes.PageShift);
                            if (ZeroPage.IsZero(page))
                            {
                                kinds[slot] = MigrationItemKind.ZeroPage;
                                continue;
                            }

                            Span<byte> area = outputs.AsSpan(slot * PageSizes.MaxCompressedPage, PageSizes.MaxCompressedPage);
                            if (compressor is not null && compressor.Compress(page, area, out int length) == CompressResult.Compressed)
                            {
                                kinds[slot] = MigrationItemKind.CompressedPage;
                                lengths[slot] = length;
                            }
                            else
                            {
                                kinds[slot] = MigrationItemKind.RawPage;
                            }
                        }
                    });

                    for (int slot = 0; slot < count; slot++)
                    {
                        long offset = (first + slot) << PageSizes.PageShift;
                        switch (kinds[slot])
                        {
                            case MigrationItemKind.ZeroPage:
                                writer.WriteZeroPage(b, offset);
                                break;
                            case MigrationItemKind.CompressedPage:
                                writer.WriteCompressedPage(b, offset, outputs.AsSpan(slot * PageSizes.MaxCompressedPage, lengths[slot]));
                                break;
                            default:
                                writer.WriteRawPage(b, offset, block.GetPage(offset));
                                break;
                        }
                    }
                }
            }

            writer.EndRamSection();
            writer.WriteSectionHeader(SectionType.End, id);
            writer.EndRamSection();
            writer.WriteRaw(received.Tail);
            writer.Flush();
            return writer.Position;
        }
        finally
        {
            foreach (IPageCompressor? compressor in compressors)
            {
                compressor?.Dispose();
            }
        }
    }
}
