using System.Buffers.Binary;
using Engine.Codecs;
using Engine.Memory;
using Microsoft.Win32.SafeHandles;

namespace Engine.Wire;

/// <summary>
/// Writes guest memory as a QEMU mapped-ram file (QEMU 9.0+, <c>migrate file:PATH</c> with the mapped-ram capability), which
/// QEMU 10.0 restores with <c>migrate-incoming file:PATH</c> (mapped-ram on, multifd on or off): the kept stream start with
/// mapped-ram in its configuration's capabilities, the RAM START section whose block list entries are each followed by a
/// MappedRamHeader, the block's bitmap and its pages at a fixed, 1 MiB aligned offset; EOS and footer, one END section with
/// only EOS, then the bytes after RAM's END verbatim (device state, EOF, VM description).
/// </summary>
/// <remarks>
/// Zero pages are left out: their bitmap bit stays clear and their place in the file is never written, so the file stays
/// sparse. The non-zero pages are written by several workers at once with positional writes, a range of pages each.
/// </remarks>
internal static class MappedRamWriter
{
    /// <summary>QEMU's MAPPED_RAM_FILE_OFFSET_ALIGNMENT: each block's pages start on a 1 MiB boundary.</summary>
    internal const long PagesAlignment = 1L << 20;

    /// <summary>be32 version, be64 page_size, be64 bitmap_offset, be64 pages_offset.</summary>
    internal const int HeaderLength = 28;

    /// <summary>The MappedRamHeader version QEMU 9.0 to 10.0 write.</summary>
    internal const uint HeaderVersion = 1;

    /// <summary>
    /// Writes the file through <paramref name="file"/> (opened for writing, empty), starting at file offset
    /// <paramref name="baseOffset"/> (QEMU's <c>file:PATH,offset=N</c>; the bytes before it are not touched). Returns the
    /// file offset of the end of what was written; <paramref name="pagesWritten"/> counts the non-zero pages.
    /// </summary>
    /// <param name="file">The output file.</param>
    /// <param name="baseOffset">Where the stream starts in the file; the offsets in the headers are absolute.</param>
    /// <param name="prefix">The stream before RAM's START as kept (file header, configuration, commands); mapped-ram is added to its capabilities.</param>
    /// <param name="ramSectionId">The RAM section's id.</param>
    /// <param name="plainBlockList">The block list as a stream without mapped-ram has it: the MEM_SIZE record, then each entry.</param>
    /// <param name="blocks">The memory, one block per entry of the block list, in its order.</param>
    /// <param name="tail">Everything after RAM's END (device state, EOF, VM description), written verbatim.</param>
    /// <param name="threads">Workers writing pages at once, 1 to 255.</param>
    /// <param name="pagesWritten">The number of pages written (those with their bit set).</param>
    /// <param name="cancellationToken">Stops the write between page ranges.</param>
    /// <exception cref="MigrationStreamException">The kept parts do not describe <paramref name="blocks"/>.</exception>
    public static long Write(
        SafeFileHandle file,
        long baseOffset,
        ReadOnlySpan<byte> prefix,
        uint ramSectionId,
        ReadOnlySpan<byte> plainBlockList,
        IReadOnlyList<RamBlock> blocks,
        ReadOnlySpan<byte> tail,
        int threads,
        out long pagesWritten,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(blocks);
        ArgumentOutOfRangeException.ThrowIfNegative(baseOffset);
        if (threads is < ThreadCounts.Min or > ThreadCounts.Max)
        {
            throw new ArgumentOutOfRangeException(nameof(threads), threads, "threads must be 1 to 255");
        }

        byte[] start = MappedRamConfiguration.WithMappedRam(prefix, out bool ignoreShared);
        List<(int Start, int Length)> entries = SplitBlockList(plainBlockList, blocks, ignoreShared);

        // The sequential part up to the first entry: stream start, RAM's START header, the MEM_SIZE record.
        long at = baseOffset;
        using (var head = new MemoryStream())
        {
            using (var writer = new MigrationStreamWriter(head, leaveOpen: true))
            {
                writer.WriteRaw(start);
                writer.WriteRamSectionStart(ramSectionId);
                writer.WriteRaw(plainBlockList[..MigrationFormat.RecordHeaderLength]);
            }

            at = WriteAt(file, head.GetBuffer().AsSpan(0, (int)head.Length), at);
        }

        var bitmaps = new ulong[blocks.Count][];
        var pagesOffsets = new long[blocks.Count];
        var bitmapOffsets = new long[blocks.Count];
        Span<byte> header = stackalloc byte[HeaderLength];
        for (int b = 0; b < blocks.Count; b++)
        {
            RamBlock block = blocks[b];
            long pageCount = block.PageCount;
            long bitmapSize = PageBits.WordCount(pageCount) * sizeof(ulong);
            at = WriteAt(file, plainBlockList.Slice(entries[b].Start, entries[b].Length), at);
            long bitmapOffset = at + HeaderLength;
            long pagesOffset = (bitmapOffset + bitmapSize + PagesAlignment - 1) & ~(PagesAlignment - 1);
            BinaryPrimitives.WriteUInt32BigEndian(header, HeaderVersion);
            BinaryPrimitives.WriteUInt64BigEndian(header[4..], PageSizes.PageSize);
            BinaryPrimitives.WriteUInt64BigEndian(header[12..], (ulong)bitmapOffset);
            BinaryPrimitives.WriteUInt64BigEndian(header[20..], (ulong)pagesOffset);
            WriteAt(file, header, at);
            bitmaps[b] = new ulong[bitmapSize / 8];
            pagesOffsets[b] = pagesOffset;
            bitmapOffsets[b] = bitmapOffset;

            // The stream goes on right after the block's pages, as QEMU's loader expects.
            at = pagesOffset + block.Size;
        }

        pagesWritten = WritePages(file, blocks, bitmaps, pagesOffsets, threads, cancellationToken);
        for (int b = 0; b < blocks.Count; b++)
        {
            // The bitmap as x86-64 QEMU writes its unsigned longs: little-endian 64-bit words, bit i for page i.
            ulong[] bitmap = bitmaps[b];
            byte[] bytes = new byte[bitmap.Length * 8];
            for (int w = 0; w < bitmap.Length; w++)
            {
                BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(w * 8), bitmap[w]);
            }

            WriteAt(file, bytes, bitmapOffsets[b]);
        }

        // EOS and footer of START, then one END section with only EOS: the pages are all in place already.
        using (var end = new MemoryStream())
        {
            using (var writer = new MigrationStreamWriter(end, leaveOpen: true))
            {
                writer.WriteEndOfSection();
                writer.WriteSectionFooter(ramSectionId);
                writer.WriteSectionHeader(SectionType.End, ramSectionId);
                writer.WriteEndOfSection();
                writer.WriteSectionFooter(ramSectionId);
                writer.WriteRaw(tail);
            }

            at = WriteAt(file, end.GetBuffer().AsSpan(0, (int)end.Length), at);
        }

        return at;
    }

    /// <summary>
    /// Splits <paramref name="list"/> (MEM_SIZE record, then per block u8 name length, name, be64 used length and,
    /// with x-ignore-shared, be64 address) into its entries, checked against <paramref name="blocks"/>.
    /// </summary>
    private static List<(int Start, int Length)> SplitBlockList(ReadOnlySpan<byte> list, IReadOnlyList<RamBlock> blocks, bool ignoreShared)
    {
        if (list.Length < MigrationFormat.RecordHeaderLength
            || (BinaryPrimitives.ReadUInt64BigEndian(list) & MigrationFormat.FlagMask) != (ulong)RamSaveFlags.MemSize)
        {
            throw new MigrationStreamException(0, "expected the kept RAM block list to start with a MEM_SIZE record");
        }

        int entryTail = ignoreShared ? 16 : 8;
        var entries = new List<(int Start, int Length)>(blocks.Count);
        int position = MigrationFormat.RecordHeaderLength;
        for (int b = 0; b < blocks.Count; b++)
        {
            RamBlock block = blocks[b];
            if (position >= list.Length || position + 1 + list[position] + entryTail > list.Length)
            {
                throw new MigrationStreamException(position, $"expected block '{block.Name}''s entry in the kept RAM block list, found the end of the list");
            }

            int nameLength = list[position];
            ReadOnlySpan<byte> name = list.Slice(position + 1, nameLength);
            ulong used = BinaryPrimitives.ReadUInt64BigEndian(list[(position + 1 + nameLength)..]);
            if (!name.SequenceEqual(System.Text.Encoding.UTF8.GetBytes(block.Name)) || used != (ulong)block.Size)
            {
                throw new MigrationStreamException(position, $"expected the kept RAM block list's entry {b} to be block '{block.Name}' of {block.Size} bytes, found another");
            }

            entries.Add((position, 1 + nameLength + entryTail));
            position += 1 + nameLength + entryTail;
        }

        if (position != list.Length)
        {
            throw new MigrationStreamException(position, $"expected the kept RAM block list to end after its {blocks.Count} entries, found {list.Length - position} more bytes");
        }

        return entries;
    }

    private static long WritePages(SafeFileHandle file, IReadOnlyList<RamBlock> blocks, ulong[][] bitmaps, long[] pagesOffsets, int threads, CancellationToken cancellationToken)
    {
        // Design: the ranges are disjoint page ranges of the memory (only read) and of the file, and disjoint words of the
        // bitmaps (a range is a multiple of 64 pages); positional writes on one handle are safe from several threads.
        return MappedRamRanges.ForEach(
            blocks.Count,
            b => blocks[b].PageCount,
            threads,
            cancellationToken,
            (b, firstPage, endPage) => WriteRange(file, blocks[b], bitmaps[b], pagesOffsets[b], firstPage, endPage));
    }

    private static long WriteRange(SafeFileHandle file, RamBlock block, ulong[] bitmap, long pagesOffset, long firstPage, long endPage)
    {
        long written = 0;
        long page = firstPage;
        while (page < endPage)
        {
            if (ZeroPage.IsZero(block.GetPage(page << PageSizes.PageShift)))
            {
                page++;
                continue;
            }

            long runEnd = page + 1;
            while (runEnd < endPage && !ZeroPage.IsZero(block.GetPage(runEnd << PageSizes.PageShift)))
            {
                runEnd++;
            }

            for (long p = page; p < runEnd; p++)
            {
                PageBits.Word(bitmap, p) |= PageBits.Bit(p);
            }

            // A run lies inside one range, so its length fits an int: MappedRamRanges.ChunkPages * 4096 bytes.
            ReadOnlySpan<byte> run = block.GetSpan(page << PageSizes.PageShift, (int)((runEnd - page) << PageSizes.PageShift));
            RandomAccess.Write(file, run, pagesOffset + (page << PageSizes.PageShift));
            written += runEnd - page;
            page = runEnd;
        }

        return written;
    }

    /// <summary>Writes <paramref name="bytes"/> at <paramref name="offset"/>; returns the offset after them.</summary>
    private static long WriteAt(SafeFileHandle file, ReadOnlySpan<byte> bytes, long offset)
    {
        RandomAccess.Write(file, bytes, offset);
        return offset + bytes.Length;
    }
}
