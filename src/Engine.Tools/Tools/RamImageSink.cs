using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Wire;
using Microsoft.Win32.SafeHandles;

namespace Engine.Tools;

/// <summary>
/// An <see cref="IRamSink"/> that writes guest RAM as one raw image file per RAM block, through the same
/// <see cref="DecompressionEngine"/> as a live destination: each image file is sized up front and mapped, and the engine's
/// <c>decompress-threads</c> workers write pages straight into it (pages never sent stay holes and read back as zero).
/// Records of one page are applied in stream order; every EOS and XBZRLE record waits for the workers first.
/// </summary>
/// <remarks>
/// Where the platform cannot map a file, the images are built in memory and written out by <see cref="Flush"/> at the end.
/// </remarks>
internal sealed unsafe class RamImageSink : IRamSink, IDisposable
{
    private readonly string _directory;
    private readonly DecompressionEngine _engine;
    private SafeFileHandle[] _files = [];
    private RamBlock?[] _blocks = [];
    private bool[] _inMemory = [];
    private ulong[][] _written = [];
    private List<ExtractedBlock> _extracted = new();

    /// <summary>Creates a sink that writes its images into <paramref name="directory"/> (created if missing).</summary>
    /// <param name="directory">Where the images go.</param>
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

    /// <summary>The images' memory (mapped files, or memory written out by <see cref="Flush"/>), one per block; zero where nothing was written.</summary>
    internal IReadOnlyList<RamBlock> Memory => Array.ConvertAll(_blocks, block => block!);

    /// <inheritdoc />
    public void OnBlockList(IReadOnlyList<RamBlockInfo> blocks)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        _files = new SafeFileHandle[blocks.Count];
        _blocks = new RamBlock?[blocks.Count];
        _inMemory = new bool[blocks.Count];
        _written = new ulong[blocks.Count][];
        _extracted = new List<ExtractedBlock>(blocks.Count);
        for (int i = 0; i < blocks.Count; i++)
        {
            string fileName = RamExtractor.FileNameFor(blocks[i].Name);
            if (!used.Add(fileName))
            {
                fileName = $"{Path.GetFileNameWithoutExtension(fileName)}-{i}.raw";
                used.Add(fileName);
            }

            string path = Path.Combine(_directory, fileName);
            _files[i] = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);

            // Sized up front (sparse where the file system allows): pages never sent read back as zero, as in a guest.
            long length = blocks[i].Length;
            RandomAccess.SetLength(_files[i], length);
            _written[i] = new ulong[(length / PageSizes.PageSize + 63) / 64];
            _extracted.Add(new ExtractedBlock(blocks[i].Name, length, path));
            if (length > 0)
            {
                PageMemoryHandle? map = PageMemoryHandle.TryMapShared(_files[i], (nuint)length);
                _inMemory[i] = map is null;
                map ??= PageMemoryHandle.AllocateZeroed((nuint)length);
                _blocks[i] = RamBlock.Over(blocks[i].Name, length, map.Pointer, map);
            }
        }
    }

    /// <inheritdoc />
    public void OnZeroPage(int block, long offset)
    {
        // A page never written is a hole already: nothing to do, and nothing touched.
        if (IsWritten(block, offset))
        {
            _engine.SubmitZero(_blocks[block]!, offset);
        }
    }

    /// <inheritdoc />
    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page)
    {
        if (IsWritten(block, offset) || !ZeroPage.IsZero(page))
        {
            _engine.SubmitRaw(_blocks[block]!, offset, page);
            MarkWritten(block, offset);
        }
    }

    /// <inheritdoc />
    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
    {
        _engine.SubmitCompressed(_blocks[block]!, offset, payload, streamOffset);
        MarkWritten(block, offset);
    }

    /// <inheritdoc />
    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded)
    {
        // The delta applies to the page as every earlier record left it.
        _engine.WaitForDone();
        if (!Xbzrle.Decode(encoded, _blocks[block]!.GetPage(offset)))
        {
            throw new InvalidOperationException("an XBZRLE delta that passed validation failed to decode");
        }

        MarkWritten(block, offset);
    }

    /// <inheritdoc />
    public void OnEndOfSection() => _engine.WaitForDone();

    /// <summary>Waits until every page received so far is in its image (and writes the images built in memory).</summary>
    public void Flush()
    {
        _engine.WaitForDone();
        for (int i = 0; i < _blocks.Length; i++)
        {
            if (_inMemory[i] && _blocks[i] is RamBlock block)
            {
                for (long offset = 0; offset < block.Size; offset += 1 << 24)
                {
                    RandomAccess.Write(_files[i], block.GetSpan(offset, (int)Math.Min(1 << 24, block.Size - offset)), offset);
                }
            }
        }
    }

    /// <summary>Stops the workers, unmaps the images and closes the files.</summary>
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

    private bool IsWritten(int block, long offset)
    {
        long page = offset / PageSizes.PageSize;
        return (_written[block][page >> 6] & (1UL << (int)(page & 63))) != 0;
    }

    private void MarkWritten(int block, long offset)
    {
        long page = offset / PageSizes.PageSize;
        _written[block][page >> 6] |= 1UL << (int)(page & 63);
    }
}
