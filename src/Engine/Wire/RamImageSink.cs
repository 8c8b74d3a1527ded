using Engine.Codecs;
using Engine.Memory;
using Microsoft.Win32.SafeHandles;

namespace Engine.Wire;

/// <summary>
/// An <see cref="IRamSink"/> that writes guest RAM as one raw image file per RAM block, decompressing compressed pages on
/// <c>decompress-threads</c> workers. Records are applied in stream order: a batch of records is decompressed in parallel,
/// then written in order, and every EOS and XBZRLE record waits for the batch first.
/// </summary>
public sealed class RamImageSink : IRamSink, IDisposable
{
    private readonly string _directory;
    private readonly PageBatch _batch;
    private readonly CodecPool _codecs;
    private readonly Action<int, int> _decompressSlot;
    private readonly byte[] _zeroPage = new byte[PageSizes.PageSize];
    private readonly byte[] _scratch = new byte[PageSizes.PageSize];
    private SafeFileHandle[] _files = Array.Empty<SafeFileHandle>();
    private ulong[][] _written = Array.Empty<ulong[]>();
    private List<ExtractedBlock> _extracted = new();

    /// <summary>Creates a sink writing into <paramref name="directory"/> (created if missing).</summary>
    /// <param name="directory">Where the block images go.</param>
    /// <param name="decompressThreads">Decompress workers, 1 to 255.</param>
    /// <param name="decompressorFactory">Creates one decompressor per worker and method; default <see cref="PageCodecs.CreateDecompressor"/>.</param>
    public RamImageSink(string directory, int decompressThreads = 2, Func<CompressMethod, IPageDecompressor>? decompressorFactory = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(directory);
        ArgumentOutOfRangeException.ThrowIfLessThan(decompressThreads, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(decompressThreads, 255);
        _directory = directory;
        Directory.CreateDirectory(directory);
        _batch = new PageBatch(PageBatch.DefaultCapacity, decompressThreads);
        _codecs = new CodecPool(decompressThreads, decompressorFactory);
        _decompressSlot = DecompressSlot;
    }

    /// <summary>The image files, one per block, in block list order (filled by <see cref="OnBlockList"/>).</summary>
    public IReadOnlyList<ExtractedBlock> Blocks => _extracted;

    /// <inheritdoc />
    public void OnBlockList(IReadOnlyList<RamBlockInfo> blocks)
    {
        var used = new HashSet<string>(StringComparer.Ordinal);
        _files = new SafeFileHandle[blocks.Count];
        _written = new ulong[blocks.Count][];
        _extracted = new List<ExtractedBlock>(blocks.Count);
        for (int i = 0; i < blocks.Count; i++)
        {
            string fileName = FileNameFor(blocks[i].Name);
            if (!used.Add(fileName))
            {
                fileName = $"{Path.GetFileNameWithoutExtension(fileName)}-{i}.raw";
                used.Add(fileName);
            }

            string path = Path.Combine(_directory, fileName);
            _files[i] = File.OpenHandle(path, FileMode.Create, FileAccess.ReadWrite, FileShare.Read);

            // Sized up front (sparse where the file system allows): pages never sent read back as zero, as in a guest.
            RandomAccess.SetLength(_files[i], blocks[i].Length);
            _written[i] = new ulong[(blocks[i].Length / PageSizes.PageSize + 63) / 64];
            _extracted.Add(new ExtractedBlock(blocks[i].Name, blocks[i].Length, path));
        }
    }

    /// <inheritdoc />
    public void OnZeroPage(int block, long offset) => Enqueue(MigrationItemKind.ZeroPage, block, offset, ReadOnlySpan<byte>.Empty, CompressMethod.None, 0);

    /// <inheritdoc />
    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page) => Enqueue(MigrationItemKind.RawPage, block, offset, page, CompressMethod.None, 0);

    /// <inheritdoc />
    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
        => Enqueue(MigrationItemKind.CompressedPage, block, offset, payload, method, streamOffset);

    /// <inheritdoc />
    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded)
    {
        // The delta applies to the page as every earlier record left it.
        Flush();
        Span<byte> page = _scratch;
        int read = RandomAccess.Read(_files[block], page, offset);
        page[read..].Clear();
        if (!Xbzrle.Decode(encoded, page))
        {
            throw new InvalidOperationException("an XBZRLE delta that passed validation failed to decode");
        }

        WritePage(block, offset, page);
    }

    /// <inheritdoc />
    public void OnEndOfSection() => Flush();

    /// <summary>Applies every queued record; call once the stream has been read.</summary>
    public void Flush()
    {
        if (_batch.Count == 0)
        {
            return;
        }

        _codecs.Prepare(_batch);
        _batch.Run(_decompressSlot);
        for (int slot = 0; slot < _batch.Count; slot++)
        {
            int block = _batch.Blocks[slot];
            long offset = _batch.Offsets[slot];
            switch (_batch.Kinds[slot])
            {
                case MigrationItemKind.ZeroPage:
                    if (IsWritten(block, offset))
                    {
                        WritePage(block, offset, _zeroPage);
                    }

                    break;
                case MigrationItemKind.RawPage:
                    WritePage(block, offset, _batch.Input(slot));
                    break;
                default:
                    DecompressStatus status = _batch.Statuses[slot];
                    if (status != DecompressStatus.Ok)
                    {
                        _batch.Clear();
                        throw new MigrationStreamException(
                            _batch.StreamOffsets[slot],
                            $"expected a {CompressionSettings.NameOf(_batch.Methods[slot])} payload that decompresses to exactly one 4096-byte page "
                            + $"(block '{_extracted[block].Name}', offset 0x{offset:X}), found: {status}");
                    }

                    WritePage(block, offset, _batch.Result(slot));
                    break;
            }
        }

        _batch.Clear();
    }

    /// <summary>Closes the image files.</summary>
    public void Dispose()
    {
        foreach (SafeFileHandle file in _files)
        {
            file.Dispose();
        }

        _codecs.Dispose();
    }

    /// <summary>A file name for a block id string: path separators and other awkward characters become '_'.</summary>
    public static string FileNameFor(string blockName)
    {
        Span<char> name = blockName.Length <= 255 ? stackalloc char[blockName.Length] : new char[blockName.Length];
        for (int i = 0; i < blockName.Length; i++)
        {
            char c = blockName[i];
            name[i] = char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '@' ? c : '_';
        }

        string trimmed = name.ToString().Trim('_', '.');
        return (trimmed.Length == 0 ? "block" : trimmed) + ".raw";
    }

    private void Enqueue(MigrationItemKind kind, int block, long offset, ReadOnlySpan<byte> payload, CompressMethod method, long streamOffset)
    {
        _batch.Add(kind, block, offset, payload, method, streamOffset);
        if (_batch.IsFull)
        {
            Flush();
        }
    }

    private void DecompressSlot(int worker, int slot)
    {
        if (_batch.Kinds[slot] == MigrationItemKind.CompressedPage)
        {
            IPageDecompressor decompressor = _codecs.Get(worker, _batch.Methods[slot]);
            _batch.Statuses[slot] = decompressor.Decompress(_batch.Input(slot), _batch.OutputArea(slot));
            _batch.OutputLengths[slot] = PageSizes.PageSize;
        }
    }

    private bool IsWritten(int block, long offset)
    {
        long page = offset / PageSizes.PageSize;
        return (_written[block][page >> 6] & (1UL << (int)(page & 63))) != 0;
    }

    private void WritePage(int block, long offset, ReadOnlySpan<byte> page)
    {
        long index = offset / PageSizes.PageSize;
        if (ZeroPage.IsZero(page) && !IsWritten(block, offset))
        {
            return;
        }

        RandomAccess.Write(_files[block], page, offset);
        _written[block][index >> 6] |= 1UL << (int)(index & 63);
    }
}
