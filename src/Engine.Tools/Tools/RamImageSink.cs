using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Wire;
using Microsoft.Win32.SafeHandles;

namespace Engine.Tools;

/// <summary>
/// An <see cref="IRamSink"/> that writes guest RAM as one raw image file per RAM block, each file sized up front so that
/// pages never written are holes and read back as zero. Records of one page are applied in stream order.
/// </summary>
/// <remarks>
/// <para>
/// While the stream holds only RAW and ZERO pages (QEMU's plain migration, <c>migrate file:</c>), the sink writes them
/// straight into the files on the reading thread: consecutive RAW pages are gathered into one buffer and written with one
/// <c>pwrite</c> (up to <see cref="BatchBytes"/>), a ZERO page for a page already written is written as zeros, and a
/// ZERO page for a page never written costs nothing.
/// </para>
/// <para>
/// A mapped-ram file's pages (<see cref="LoadMappedRam"/>) are copied from the file into the images the same way, a run of
/// present pages at a time, with no memory the size of the guest.
/// </para>
/// <para>
/// At the first compressed or XBZRLE page, or when <see cref="Memory"/> is asked for, it
/// switches to memory: each image gets memory allocated as a destination's (<see cref="RamBlock.AllocateImage"/>: 2 MiB
/// pages, a bit per written page), the pages written so far are read back into it, the pages then go through the same
/// <see cref="DecompressionEngine"/> as a live destination (<c>decompress-threads</c> workers), and <see cref="Flush"/>
/// writes each image's written pages with large <c>pwrite</c>s (and zeros over a page written to the file before and
/// made zero since). Every EOS and XBZRLE record waits for the workers first.
/// </para>
/// <para>
/// The images used to be the files mapped shared and written in place: on ext4 that cost a page fault per 4 KiB page of
/// the file (the file system's <c>page_mkwrite</c>, a read of the hole, delayed allocation per page), more than half of
/// <c>extract</c>'s time.
/// </para>
/// </remarks>
internal sealed class RamImageSink : IRamSink, IDisposable
{
    /// <summary>The most bytes one <c>pwrite</c> writes: RAW pages gathered while writing straight to the files, and a run of written pages at <see cref="Flush"/>.</summary>
    internal const int BatchBytes = 1 << 20;

    private static readonly byte[] ZeroPageBytes = new byte[PageSizes.PageSize];

    private readonly string _directory;
    private readonly DecompressionEngine _engine;
    private readonly byte[] _batch = GC.AllocateUninitializedArray<byte>(BatchBytes, pinned: true);
    private SafeFileHandle[] _files = [];
    private RamBlockInfo[] _infos = [];
    private RamBlock?[] _blocks = [];
    private WrittenPages[] _inFile = [];
    private List<ExtractedBlock> _extracted = new();
    private bool _inMemory;
    private int _batchBlock = -1;
    private long _batchOffset;
    private int _batchLength;

    /// <summary>Creates a sink that writes its images into <paramref name="directory"/> (created if missing).</summary>
    /// <param name="directory">Where the images go: a directory that holds none of them yet (extract's staging directory).</param>
    /// <param name="decompressThreads">Decompress workers, 1 to 255.</param>
    /// <param name="decompressorFactory">Decoders per method, for tests; null for Engine's (native zlib, zstd), told apart by the payload.</param>
    public RamImageSink(string directory, int decompressThreads = 2, Func<CompressMethod, IPageDecompressor>? decompressorFactory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ThreadCounts.Check("decompress-threads", decompressThreads);
        _directory = directory;
        Directory.CreateDirectory(directory);
        _engine = new DecompressionEngine(
            new DecompressionEngineOptions { DecompressThreads = decompressThreads },
            decompressorFactory is null ? null : () => new MethodDispatchDecoder(decompressorFactory));
    }

    /// <summary>The images written, one per RAM block, in block order.</summary>
    public IReadOnlyList<ExtractedBlock> Blocks => _extracted;

    /// <summary>True once the sink has switched from writing the files straight to building the images in memory (see the remarks).</summary>
    internal bool InMemory => _inMemory;

    /// <summary>
    /// The images' memory, one per block (null for a block of length 0), written out by <see cref="Flush"/>: switches the
    /// sink to memory first. Every writer marks the pages it writes (<see cref="RamBlock.MarkWritten(long, long)"/>).
    /// </summary>
    internal IReadOnlyList<RamBlock> Memory
    {
        get
        {
            SwitchToMemory();
            return Array.ConvertAll(_blocks, block => block!);
        }
    }

    /// <inheritdoc />
    public void OnBlockList(IReadOnlyList<RamBlockInfo> blocks)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        _files = new SafeFileHandle[blocks.Count];
        _blocks = new RamBlock?[blocks.Count];
        _inFile = new WrittenPages[blocks.Count];
        _infos = blocks.ToArray();
        _extracted = new List<ExtractedBlock>(blocks.Count);
        for (int i = 0; i < blocks.Count; i++)
        {
            string fileName = RamExtractor.FileNameFor(blocks[i].Name);
            string stem = Path.GetFileNameWithoutExtension(fileName);
            for (int n = i; !used.Add(fileName); n += blocks.Count)
            {
                fileName = $"{stem}-{n}.raw";
            }

            // A new file (the directory is the extract's own staging directory): opening with truncation would truncate
            // it to zero, and on ext4 a file truncated to zero is flushed to disk when it is closed (auto_da_alloc).
            string path = Path.Combine(_directory, fileName);
            _files[i] = File.OpenHandle(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.Read);

            // Sized up front (sparse where the file system allows): pages never written read back as zero, as in a guest.
            long length = blocks[i].Length;
            RandomAccess.SetLength(_files[i], length);
            _extracted.Add(new ExtractedBlock(blocks[i].Name, length, path));
            _inFile[i] = new WrittenPages(length / PageSizes.PageSize);
        }
    }

    /// <inheritdoc />
    public void OnZeroPage(int block, long offset)
    {
        long page = offset >> PageSizes.PageShift;
        if (!_inMemory)
        {
            // A page never written (or made zero since) is a hole or zeros already: nothing to do.
            if (_inFile[block].TryClear(page))
            {
                WriteBatch();
                RandomAccess.Write(_files[block], ZeroPageBytes, offset);
            }

            return;
        }

        // The bit is taken here, on the submitting thread, as the live destination does (GuestMemoryTarget).
        RamBlock target = _blocks[block]!;
        if (target.Written!.TryClear(page))
        {
            _engine.SubmitZero(target, offset);
        }
    }

    /// <inheritdoc />
    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page)
    {
        if (ZeroPage.IsZero(page))
        {
            OnZeroPage(block, offset);
            return;
        }

        if (!_inMemory)
        {
            if (block != _batchBlock || offset != _batchOffset + _batchLength || _batchLength == BatchBytes)
            {
                WriteBatch();
                _batchBlock = block;
                _batchOffset = offset;
            }

            page.CopyTo(_batch.AsSpan(_batchLength));
            _batchLength += PageSizes.PageSize;
            _inFile[block].Mark(offset >> PageSizes.PageShift);
            return;
        }

        RamBlock target = _blocks[block]!;
        target.MarkWritten(offset);
        _engine.SubmitRaw(target, offset, page);
    }

    /// <inheritdoc />
    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
    {
        SwitchToMemory();
        RamBlock target = _blocks[block]!;
        target.MarkWritten(offset);
        _engine.SubmitCompressed(target, offset, payload, streamOffset);
    }

    /// <inheritdoc />
    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded)
    {
        // The delta applies to the page as every earlier record left it.
        SwitchToMemory();
        _engine.WaitForDone();
        RamBlock target = _blocks[block]!;
        target.MarkWritten(offset);
        if (!Xbzrle.Decode(encoded, target.GetPage(offset)))
        {
            throw new InvalidOperationException("an XBZRLE delta that passed validation failed to decode");
        }
    }

    /// <inheritdoc />
    public void OnEndOfSection() => _engine.WaitForDone();

    /// <summary>
    /// Makes every page received so far part of its image file: writes the gathered RAW pages, or (in memory) waits for
    /// the workers and writes each image's written pages, a run of consecutive written pages at a time.
    /// </summary>
    public void Flush()
    {
        WriteBatch();
        _engine.WaitForDone();
        if (_inMemory)
        {
            for (int i = 0; i < _blocks.Length; i++)
            {
                if (_blocks[i] is RamBlock block)
                {
                    WriteImage(_files[i], block, _inFile[i]);
                }
            }
        }
    }

    /// <summary>
    /// Loads the pages of the mapped-ram file <paramref name="reader"/> has read to RAM's END from <paramref name="input"/>:
    /// copied from the file straight into the images (<see cref="MappedRamReader.CopyToFiles(Stream, MigrationStreamReader, IReadOnlyList{SafeFileHandle}, IReadOnlyList{long}, int, CancellationToken)"/>)
    /// while nothing has been written yet, else into <see cref="Memory"/>. Returns the number of pages loaded.
    /// </summary>
    internal long LoadMappedRam(Stream input, MigrationStreamReader reader, int threads, CancellationToken cancellationToken)
    {
        WriteBatch();
        if (_inMemory || Array.Exists(_inFile, pages => pages.AnyWritten(0, pages.PageCount)))
        {
            return MappedRamReader.Load(input, reader, Memory, threads, destinationIsZero: true, cancellationToken);
        }

        return MappedRamReader.CopyToFiles(input, reader, _files, Array.ConvertAll(_infos, info => info.Length), threads, cancellationToken);
    }

    /// <summary>
    /// Writes the pages of <paramref name="block"/> marked written into <paramref name="file"/> at their offsets, and zeros
    /// over a page <paramref name="inFile"/> says the file holds but the block no longer marks written (made zero since);
    /// leaves the others as they are. <paramref name="inFile"/> is then what the file holds.
    /// </summary>
    internal static void WriteImage(SafeFileHandle file, RamBlock block, WrittenPages inFile)
    {
        WrittenPages written = block.Written!;
        long pages = written.PageCount;
        long page = 0;
        while (page < pages)
        {
            if (!written.IsWritten(page))
            {
                if (inFile.TryClear(page))
                {
                    RandomAccess.Write(file, ZeroPageBytes, page * PageSizes.PageSize);
                }

                page++;
                continue;
            }

            long runEnd = RunEnd(written, page);

            long offset = page * PageSizes.PageSize;
            Span<byte> bytes = block.GetSpan(offset, (int)((runEnd - page) * PageSizes.PageSize));
            FileRanges.Allocate(file, offset, bytes.Length);
            RandomAccess.Write(file, bytes, offset);
            inFile.Mark(page, runEnd - page);
            page = runEnd;
        }
    }

    /// <summary>Stops the workers, frees the images' memory and closes the files.</summary>
    public void Dispose()
    {
        try
        {
            _engine.Dispose();
        }
        finally
        {
            foreach (RamBlock? block in _blocks)
            {
                block?.Dispose();
            }

            foreach (SafeFileHandle file in _files)
            {
                file.Dispose();
            }
        }
    }

    /// <summary>The end of the run of written pages from <paramref name="page"/> (written), at most one batch long.</summary>
    private static long RunEnd(WrittenPages written, long page)
    {
        long end = page + 1;
        while (end < written.PageCount && written.IsWritten(end) && (end - page) * PageSizes.PageSize < BatchBytes)
        {
            end++;
        }

        return end;
    }

    private void WriteBatch()
    {
        if (_batchLength > 0)
        {
            FileRanges.Allocate(_files[_batchBlock], _batchOffset, _batchLength);
            RandomAccess.Write(_files[_batchBlock], _batch.AsSpan(0, _batchLength), _batchOffset);
            _batchLength = 0;
            _batchBlock = -1;
        }
    }

    /// <summary>Leaves writing the files straight: allocates each image's memory and reads back the pages written so far.</summary>
    private void SwitchToMemory()
    {
        if (_inMemory)
        {
            return;
        }

        WriteBatch();
        for (int i = 0; i < _infos.Length; i++)
        {
            long length = _infos[i].Length;
            if (length <= 0)
            {
                continue;
            }

            RamBlock block = RamBlock.AllocateImage(_infos[i].Name, length);
            _blocks[i] = block;
            WrittenPages inFile = _inFile[i];
            long pages = inFile.PageCount;
            for (long page = 0; page < pages;)
            {
                if (!inFile.IsWritten(page))
                {
                    page++;
                    continue;
                }

                long runEnd = RunEnd(inFile, page);

                long offset = page * PageSizes.PageSize;
                block.MarkWritten(offset, runEnd - page);
                Span<byte> target = block.GetSpan(offset, (int)((runEnd - page) * PageSizes.PageSize));
                if (RandomAccess.Read(_files[i], target, offset) != target.Length)
                {
                    throw new IOException($"the image of RAM block '{_infos[i].Name}' is shorter than the pages written into it");
                }

                page = runEnd;
            }
        }

        _inMemory = true;
    }
}
