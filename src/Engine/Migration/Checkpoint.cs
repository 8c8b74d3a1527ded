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
/// Pages are compressed by a <see cref="StreamPageEncoder"/> on <c>threads</c> workers and written in page order. The
/// file is written under a temporary name and renamed only when complete, so a failure leaves no partial checkpoint.
/// </remarks>
public static class Checkpoint
{
    /// <summary>Writes <paramref name="received"/> to <paramref name="path"/>; returns the bytes written.</summary>
    public static long Save(string path, DestinationResult received, CompressionSettings settings, int threads)
    {
        CheckSave(path, received, threads);
        return OutputFile.WriteThenRename(path, file => Write(file, received, settings, threads), flushToDisk: true);
    }

    /// <summary>
    /// Writes <paramref name="received"/> to <paramref name="path"/> as a QEMU mapped-ram file, which QEMU 9.0+ restores with
    /// <c>migrate-incoming file:PATH</c> and the mapped-ram capability on (multifd on or off): the received header,
    /// configuration and commands, each RAM block's pages at fixed file offsets, then the bytes received after RAM.
    /// Pages are uncompressed (mapped-ram has no compressed form); zero pages are holes. The non-zero pages are written by
    /// <paramref name="threads"/> workers (1–255). Returns the file's length; the file is written under a temporary name
    /// and renamed when complete, so a failure or a cancellation leaves no partial file.
    /// </summary>
    /// <exception cref="EngineParameterException"><paramref name="threads"/> is out of range.</exception>
    /// <exception cref="ArgumentException"><paramref name="received"/> did not come from a destination (no stream header or block list kept).</exception>
    public static long SaveMappedRam(string path, DestinationResult received, int threads, CancellationToken cancellationToken = default)
    {
        CheckSave(path, received, threads);
        return OutputFile.WriteThenRename(path, file => WriteMappedRam(file, 0, received, threads, out _, cancellationToken), flushToDisk: true);
    }

    /// <summary>
    /// Writes <paramref name="received"/> as a mapped-ram stream into <paramref name="file"/> from file offset
    /// <paramref name="baseOffset"/> (<see cref="MappedRamWriter.Write"/>); returns the file offset of its end, with the
    /// pages written (the non-zero ones) in <paramref name="pagesWritten"/>.
    /// </summary>
    internal static long WriteMappedRam(FileStream file, long baseOffset, DestinationResult received, int threads, out long pagesWritten, CancellationToken cancellationToken)
        => MappedRamWriter.Write(
            file.SafeFileHandle,
            baseOffset,
            received.StreamPrefix,
            received.RamSectionId,
            received.RamBlockList,
            received.Memory.Blocks,
            received.Tail,
            threads,
            out pagesWritten,
            cancellationToken);

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

    /// <summary>Writes the checkpoint stream to <paramref name="output"/> (not disposed); returns the bytes written.</summary>
    public static long Write(Stream output, DestinationResult received, CompressionSettings settings, int threads)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(received);
        IReadOnlyList<RamBlock> blocks = received.Memory.Blocks;
        RamBlockInfo[] infos = blocks.Select(b => new RamBlockInfo(b.Name, b.Size)).ToArray();
        uint id = received.RamSectionId;
        using var encoder = new StreamPageEncoder(settings, threads);
        using var writer = new MigrationStreamWriter(output, leaveOpen: true);
        writer.WriteRaw(received.StreamPrefix);
        writer.WriteRamSectionStart(id);
        writer.WriteRawRamBlockList(received.RamBlockList, infos);
        writer.EndRamSection();
        writer.WriteSectionHeader(SectionType.Part, id);

        // The memory is final and nobody writes it any more: the workers read each page where it is.
        encoder.Start(writer);
        for (int b = 0; b < blocks.Count; b++)
        {
            RamBlock block = blocks[b];
            for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
            {
                encoder.AddPage(b, block, offset);
            }
        }

        encoder.Flush();
        writer.EndRamSection();
        writer.WriteSectionHeader(SectionType.End, id);
        writer.EndRamSection();
        writer.WriteRaw(received.Tail);
        writer.Flush();
        return writer.Position;
    }
}
