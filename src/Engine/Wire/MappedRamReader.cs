using Engine.Codecs;
using Engine.Memory;
using Microsoft.Win32.SafeHandles;

namespace Engine.Wire;

/// <summary>
/// Loads the pages of a QEMU mapped-ram file into memory: for each block, the pages whose bitmap bit is set are read from
/// their fixed offsets (<c>pages_offset + i * 4096</c>) straight into the destination, the rest are zero. The blocks are
/// cut into ranges that several workers read at once with positional reads; the file is never read in order as a whole.
/// </summary>
/// <remarks>
/// The block descriptions come from <see cref="MigrationStreamReader.MappedRamBlocks"/>, which has checked them against
/// the stream; the pages regions are checked again against this file's length before anything is read, so a file shorter
/// than its headers say is refused rather than read past its end.
/// </remarks>
internal static class MappedRamReader
{
    /// <summary>The default number of workers: one per core, at most 8 (the reads are copies from the page cache or the disk).</summary>
    public static int DefaultThreads => Math.Clamp(Environment.ProcessorCount, 1, 8);

    /// <summary>
    /// Reads every block's present pages from <paramref name="file"/> into <paramref name="destinations"/> (one per block,
    /// each exactly the block's length). Returns the number of pages read.
    /// </summary>
    /// <param name="file">The mapped-ram file, opened for reading; the offsets are absolute in it.</param>
    /// <param name="blocks">The blocks, as <see cref="MigrationStreamReader.MappedRamBlocks"/> gives them.</param>
    /// <param name="destinations">Where each block's image goes: guest memory, a mapped image file, or any memory.</param>
    /// <param name="threads">Workers reading at once, 1 to 255.</param>
    /// <param name="destinationIsZero">
    /// True when the destinations hold only zeros already (fresh guest memory, a new sparse image): pages whose bit is clear
    /// are then left untouched, so an image stays sparse. When false they are zeroed.
    /// </param>
    /// <param name="cancellationToken">Stops the load between reads.</param>
    /// <exception cref="MigrationStreamException">A pages region lies outside the file, or the file cannot be read.</exception>
    public static long Load(
        SafeFileHandle file,
        IReadOnlyList<MappedRamBlock> blocks,
        IReadOnlyList<RamBlock> destinations,
        int threads,
        bool destinationIsZero,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(destinations);
        Check(file, blocks, destinations.Count, i => destinations[i].Size, nameof(destinations), threads);

        // Design: the ranges are disjoint page ranges of the destinations, the bitmaps are only read, and a positional read on
        // one file handle is safe from several threads.
        return MappedRamRanges.ForEach(
            blocks.Count,
            b => blocks[b].PageCount,
            threads,
            cancellationToken,
            (b, firstPage, endPage) => LoadRange(file, blocks[b], destinations[b], firstPage, endPage, destinationIsZero));
    }

    /// <summary>
    /// Copies every block's present pages from <paramref name="file"/> into <paramref name="targets"/> (one file per block,
    /// of <paramref name="targetLengths"/>, zero where nothing is written: <c>extract</c>'s new sparse images) at the
    /// pages' offsets in the block, a run of present pages at a time through a buffer of each worker's; pages whose bit is
    /// clear are not written. No memory the size of the guest is needed. Returns the number of pages copied.
    /// </summary>
    /// <exception cref="MigrationStreamException">A pages region lies outside the file, or the file cannot be read.</exception>
    /// <exception cref="IOException">A target cannot be written.</exception>
    public static long CopyToFiles(
        SafeFileHandle file,
        IReadOnlyList<MappedRamBlock> blocks,
        IReadOnlyList<SafeFileHandle> targets,
        IReadOnlyList<long> targetLengths,
        int threads,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentNullException.ThrowIfNull(targetLengths);
        if (targetLengths.Count != targets.Count)
        {
            throw new ArgumentException($"expected one length per target ({targets.Count}), found {targetLengths.Count}", nameof(targetLengths));
        }

        Check(file, blocks, targets.Count, i => targetLengths[i], nameof(targets), threads);
        return MappedRamRanges.ForEach(
            blocks.Count,
            b => blocks[b].PageCount,
            threads,
            cancellationToken,
            (b, firstPage, endPage) => CopyRange(file, blocks[b], targets[b], firstPage, endPage));
    }

    /// <summary>
    /// Loads the pages of the mapped-ram stream <paramref name="reader"/> has read from <paramref name="input"/> (which
    /// must be the file itself) into <paramref name="destinations"/>; for callers that have read the stream to RAM's END.
    /// </summary>
    /// <exception cref="MigrationStreamException">The input is not a file, or a pages region cannot be read.</exception>
    public static long Load(Stream input, MigrationStreamReader reader, IReadOnlyList<RamBlock> destinations, int threads, bool destinationIsZero, CancellationToken cancellationToken = default)
    {
        return Load(FileOf(input, reader), reader.MappedRamBlocks, destinations, threads, destinationIsZero, cancellationToken);
    }

    /// <summary>
    /// As <see cref="CopyToFiles(SafeFileHandle, IReadOnlyList{MappedRamBlock}, IReadOnlyList{SafeFileHandle}, IReadOnlyList{long}, int, CancellationToken)"/>
    /// for the mapped-ram stream <paramref name="reader"/> has read from <paramref name="input"/> (which must be the file itself).
    /// </summary>
    /// <exception cref="MigrationStreamException">The input is not a file, or a pages region cannot be read.</exception>
    public static long CopyToFiles(Stream input, MigrationStreamReader reader, IReadOnlyList<SafeFileHandle> targets, IReadOnlyList<long> targetLengths, int threads, CancellationToken cancellationToken = default)
    {
        return CopyToFiles(FileOf(input, reader), reader.MappedRamBlocks, targets, targetLengths, threads, cancellationToken);
    }

    private static long LoadRange(SafeFileHandle file, MappedRamBlock block, RamBlock destination, long firstPage, long endPage, bool destinationIsZero)
    {
        long read = 0;
        long page = firstPage;
        while (page < endPage)
        {
            bool present = block.IsPresent(page);
            long runEnd = page + 1;
            while (runEnd < endPage && block.IsPresent(runEnd) == present)
            {
                runEnd++;
            }

            // A run lies inside one chunk, so its length fits an int: MappedRamRanges.ChunkPages * 4096 bytes.
            Span<byte> target = destination.GetSpan(page * PageSizes.PageSize, (int)((runEnd - page) * PageSizes.PageSize));
            if (present)
            {
                destination.MarkWritten(page * PageSizes.PageSize, runEnd - page);
                ReadExactly(file, target, block.PagesOffset + (page * PageSizes.PageSize), block.Name, page);
                read += runEnd - page;
            }
            else if (!destinationIsZero)
            {
                // A clear bit is a zero page, even where stale bytes of an earlier write remain in the file.
                target.Clear();
            }

            page = runEnd;
        }

        return read;
    }

    private static void Check(SafeFileHandle file, IReadOnlyList<MappedRamBlock> blocks, int destinationCount, Func<int, long> destinationSize, string destinationsName, int threads)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(blocks);
        if (destinationCount != blocks.Count)
        {
            throw new ArgumentException($"expected one destination per block ({blocks.Count}), found {destinationCount}", destinationsName);
        }

        if (threads is < ThreadCounts.Min or > ThreadCounts.Max)
        {
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be 1 to 255");
        }

        long fileLength = RandomAccess.GetLength(file);
        for (int i = 0; i < blocks.Count; i++)
        {
            MappedRamBlock block = blocks[i];
            if (destinationSize(i) != block.Length)
            {
                throw new ArgumentException($"expected destination {i} to have block '{block.Name}''s {block.Length} bytes, found {destinationSize(i)}", destinationsName);
            }

            if (block.Bitmap.Length * 64L < block.PageCount)
            {
                throw new ArgumentException($"block '{block.Name}''s bitmap has {block.Bitmap.Length} words for {block.PageCount} pages", nameof(blocks));
            }

            if (block.PagesOffset < 0 || block.PagesOffset > fileLength - block.Length)
            {
                throw new MigrationStreamException(
                    block.HeaderOffset + 20,
                    $"expected block '{block.Name}''s pages ({block.Length} bytes at file offset {block.PagesOffset}) to lie inside the file, which is {fileLength} bytes long");
            }
        }
    }

    private static long CopyRange(SafeFileHandle file, MappedRamBlock block, SafeFileHandle target, long firstPage, long endPage)
    {
        const int BufferPages = 256;
        byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent(BufferPages * PageSizes.PageSize);
        try
        {
            long copied = 0;
            long page = firstPage;
            while (page < endPage)
            {
                if (!block.IsPresent(page))
                {
                    page++;
                    continue;
                }

                long runEnd = page + 1;
                while (runEnd < endPage && runEnd - page < BufferPages && block.IsPresent(runEnd))
                {
                    runEnd++;
                }

                Span<byte> bytes = buffer.AsSpan(0, (int)((runEnd - page) * PageSizes.PageSize));
                ReadExactly(file, bytes, block.PagesOffset + (page * PageSizes.PageSize), block.Name, page);
                FileRanges.Allocate(target, page * PageSizes.PageSize, bytes.Length);
                RandomAccess.Write(target, bytes, page * PageSizes.PageSize);
                copied += runEnd - page;
                page = runEnd;
            }

            return copied;
        }
        finally
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void ReadExactly(SafeFileHandle file, Span<byte> target, long fileOffset, string blockName, long firstPage)
    {
        int done = 0;
        while (done < target.Length)
        {
            int n;
            try
            {
                n = RandomAccess.Read(file, target[done..], fileOffset + done);
            }
            catch (IOException e)
            {
                throw new MigrationStreamException(fileOffset + done, $"reading block '{blockName}''s pages at file offset {fileOffset + done} failed: {e.Message}", e);
            }

            if (n == 0)
            {
                long page = firstPage + (done / PageSizes.PageSize);
                throw new MigrationStreamException(
                    fileOffset + done,
                    $"expected page {page} of block '{blockName}' at file offset {fileOffset + done}, found the end of the file");
            }

            done += n;
        }
    }

    /// <summary>The file under <paramref name="input"/>: a mapped-ram stream's pages are read at their file offsets.</summary>
    private static SafeFileHandle FileOf(Stream input, MigrationStreamReader reader)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(reader);
        if (input is not FileStream file)
        {
            throw new MigrationStreamException(reader.Position, "a mapped-ram file keeps its pages at fixed file offsets: it must be read from the file itself, not from a pipe or another stream");
        }

        return file.SafeFileHandle;
    }
}
