using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Text;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Wire;

/// <summary>
/// Writes QEMU's migration stream (version 3, big-endian) to a <see cref="Stream"/> through one internal buffer: no
/// allocation per record. The writer decides CONTINUE itself (a record in the same block as the previous record of the
/// same section carries no block name), so compress workers hand it payloads only and never a header.
/// </summary>
/// <remarks>
/// One thread writes (the pipeline's writer thread, which receives results from the compress workers in order).
/// Arguments are checked: a block index, page offset or payload length that QEMU's reader would refuse throws
/// <see cref="ArgumentException"/> here instead of producing a stream nobody can load.
/// </remarks>
internal sealed class MigrationStreamWriter : IDisposable
{
    /// <summary>The default buffer size: 256 KiB, large enough that a page never straddles two writes to the stream.</summary>
    public const int DefaultBufferSize = 256 * 1024;

    // Room for the largest record written in one piece: header, counted block name, be32 length, the largest payload.
    private const int MaxRecordLength = MigrationFormat.RecordHeaderLength + 1 + MigrationFormat.MaxCountedStringLength + 4 + PageSizes.MaxCompressedPage;

    private readonly Stream _output;
    private readonly bool _leaveOpen;
    private readonly byte[] _buffer;
    private readonly List<RamBlockInfo> _blocks = new();
    private readonly List<byte[]> _blockNames = new();
    private int _count;
    private long _flushed;
    private int _lastBlock = -1;
    private uint _sectionId;
    private bool _inSection;

    /// <summary>Creates a writer that appends to <paramref name="output"/>.</summary>
    public MigrationStreamWriter(Stream output, int bufferSize = DefaultBufferSize, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (bufferSize < MaxRecordLength)
        {
            throw new ArgumentOutOfRangeException(nameof(bufferSize), bufferSize, $"the buffer must hold at least one record ({MaxRecordLength} bytes)");
        }

        _output = output;
        _leaveOpen = leaveOpen;
        _buffer = GC.AllocateUninitializedArray<byte>(bufferSize);
    }

    /// <summary>Bytes written so far, flushed or not: the stream offset of the next byte.</summary>
    public long Position => _flushed + _count;

    /// <summary>The blocks registered by <see cref="WriteRamBlockList"/>; page records name them by index.</summary>
    public IReadOnlyList<RamBlockInfo> Blocks => _blocks;

    /// <summary>Writes the file header: magic <c>QEVM</c> and version 3.</summary>
    public void WriteFileHeader()
    {
        Span<byte> span = Reserve(MigrationFormat.FileHeaderLength);
        BinaryPrimitives.WriteUInt32BigEndian(span, MigrationFormat.FileMagic);
        BinaryPrimitives.WriteUInt32BigEndian(span[4..], MigrationFormat.FileVersion);
        _count += MigrationFormat.FileHeaderLength;
    }

    /// <summary>Writes the configuration section with the machine type (e.g. <c>pc-i440fx-7.2</c>) and no subsections.</summary>
    public void WriteConfiguration(string machineType)
    {
        ArgumentException.ThrowIfNullOrEmpty(machineType);
        int length = Encoding.ASCII.GetByteCount(machineType);
        if (length > MigrationFormat.MaxMachineTypeLength)
        {
            throw new ArgumentOutOfRangeException(nameof(machineType), $"a machine type name is at most {MigrationFormat.MaxMachineTypeLength} bytes");
        }

        Span<byte> span = Reserve(5 + length);
        span[0] = (byte)SectionType.Configuration;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], (uint)length);
        Encoding.ASCII.GetBytes(machineType, span[5..]);
        _count += 5 + length;
    }

    /// <summary>Writes a START section header (type, section id, id string, instance id, version id).</summary>
    public void WriteSectionStart(uint sectionId, string idString, uint instanceId, uint versionId)
    {
        ArgumentException.ThrowIfNullOrEmpty(idString);
        int length = Encoding.ASCII.GetByteCount(idString);
        if (length > MigrationFormat.MaxCountedStringLength)
        {
            throw new ArgumentOutOfRangeException(nameof(idString), "a section id string is at most 255 bytes");
        }

        Span<byte> span = Reserve(14 + length);
        span[0] = (byte)SectionType.Start;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], sectionId);
        span[5] = (byte)length;
        Encoding.ASCII.GetBytes(idString, span[6..]);
        BinaryPrimitives.WriteUInt32BigEndian(span[(6 + length)..], instanceId);
        BinaryPrimitives.WriteUInt32BigEndian(span[(10 + length)..], versionId);
        _count += 14 + length;
        OpenSection(sectionId);
    }

    /// <summary>Writes the RAM section's START header: id string <c>ram</c>, instance 0, version 4.</summary>
    public void WriteRamSectionStart(uint sectionId)
        => WriteSectionStart(sectionId, MigrationFormat.RamSectionName, MigrationFormat.RamInstanceId, MigrationFormat.RamSectionVersion);

    /// <summary>Writes a PART or END section header.</summary>
    public void WriteSectionHeader(SectionType type, uint sectionId)
    {
        if (type is not (SectionType.Part or SectionType.End))
        {
            throw new ArgumentOutOfRangeException(nameof(type), type, "only PART and END headers carry just a section id");
        }

        Span<byte> span = Reserve(5);
        span[0] = (byte)type;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], sectionId);
        _count += 5;
        OpenSection(sectionId);
    }

    /// <summary>Writes a section footer (0x7E and the section id).</summary>
    public void WriteSectionFooter(uint sectionId)
    {
        Span<byte> span = Reserve(MigrationFormat.FooterLength);
        span[0] = (byte)SectionType.Footer;
        BinaryPrimitives.WriteUInt32BigEndian(span[1..], sectionId);
        _count += MigrationFormat.FooterLength;
        _inSection = false;
    }

    /// <summary>
    /// Writes the RAM block list (MEM_SIZE record with the total, then each block's name and used length) and registers
    /// the blocks for the page records that follow.
    /// </summary>
    public void WriteRamBlockList(IReadOnlyList<RamBlockInfo> blocks)
    {
        RegisterBlocks(blocks);
        long total = 0;
        foreach (RamBlockInfo block in blocks)
        {
            total += block.Length;
        }

        WriteRecordHeader((ulong)total | (ulong)RamSaveFlags.MemSize);
        for (int i = 0; i < _blockNames.Count; i++)
        {
            byte[] name = _blockNames[i];
            Span<byte> span = Reserve(1 + name.Length + 8);
            span[0] = (byte)name.Length;
            name.CopyTo(span[1..]);
            BinaryPrimitives.WriteUInt64BigEndian(span[(1 + name.Length)..], (ulong)_blocks[i].Length);
            _count += 1 + name.Length + 8;
        }
    }

    /// <summary>
    /// Copies a block list exactly as another stream had it (<paramref name="raw"/>, the whole MEM_SIZE record) and
    /// registers <paramref name="blocks"/>, which must be what it announces. Keeps fields Engine does not write itself
    /// (x-ignore-shared addresses) intact when transcoding.
    /// </summary>
    public void WriteRawRamBlockList(ReadOnlySpan<byte> raw, IReadOnlyList<RamBlockInfo> blocks)
    {
        RegisterBlocks(blocks);
        WriteRaw(raw);
    }

    /// <summary>The whole RAM setup section: START header, block list, EOS and footer.</summary>
    public void WriteRamSetupSection(uint sectionId, IReadOnlyList<RamBlockInfo> blocks)
    {
        WriteRamSectionStart(sectionId);
        WriteRamBlockList(blocks);
        WriteEndOfSection();
        WriteSectionFooter(sectionId);
    }

    /// <summary>Writes a zero page record (ZERO, fill byte 0).</summary>
    public void WriteZeroPage(int block, long offset)
    {
        WritePageHeader(block, offset, RamSaveFlags.Zero, 1);
        _buffer[_count++] = 0;
    }

    /// <summary>Writes a raw page record (PAGE and the page's 4096 bytes).</summary>
    public void WriteRawPage(int block, long offset, ReadOnlySpan<byte> page)
    {
        if (page.Length != PageSizes.PageSize)
        {
            throw new ArgumentException($"a page is {PageSizes.PageSize} bytes, got {page.Length}", nameof(page));
        }

        WritePageHeader(block, offset, RamSaveFlags.Page, PageSizes.PageSize);
        page.CopyTo(_buffer.AsSpan(_count));
        _count += PageSizes.PageSize;
    }

    /// <summary>
    /// Writes a compressed page record (COMPRESS_PAGE, be32 length, <paramref name="payload"/>: one zlib stream or one zstd
    /// frame). The length must be within the method's bound (4110 for zlib, 4174 for zstd).
    /// </summary>
    public void WriteCompressedPage(int block, long offset, ReadOnlySpan<byte> payload)
    {
        PayloadFormat.TryDetect(payload, out CompressMethod method);
        if (method == CompressMethod.None || payload.Length > PayloadFormat.BoundOf(method))
        {
            throw new ArgumentException(
                $"a compressed page is one zlib stream (at most {PageSizes.ZlibBound} bytes) or one zstd frame (at most {PageSizes.ZstdBound}); got {payload.Length} bytes of {CompressionSettings.NameOf(method)}",
                nameof(payload));
        }

        WritePageHeader(block, offset, RamSaveFlags.CompressPage, 4 + payload.Length);
        BinaryPrimitives.WriteUInt32BigEndian(_buffer.AsSpan(_count), (uint)payload.Length);
        payload.CopyTo(_buffer.AsSpan(_count + 4));
        _count += 4 + payload.Length;
    }

    /// <summary>Writes an XBZRLE record (encoding byte 0x01, be16 length, the encoded delta). The delta is validated.</summary>
    public void WriteXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded)
    {
        if (encoded.Length > Xbzrle.MaxEncodedLength || !Xbzrle.Validate(encoded, out _, out string? error))
        {
            throw new ArgumentException($"not a valid XBZRLE delta of at most {Xbzrle.MaxEncodedLength} bytes", nameof(encoded));
        }

        WritePageHeader(block, offset, RamSaveFlags.Xbzrle, 3 + encoded.Length);
        _buffer[_count] = MigrationFormat.XbzrleEncodingFlag;
        BinaryPrimitives.WriteUInt16BigEndian(_buffer.AsSpan(_count + 1), (ushort)encoded.Length);
        encoded.CopyTo(_buffer.AsSpan(_count + 3));
        _count += 3 + encoded.Length;
    }

    /// <summary>Writes a MULTIFD_FLUSH marker (QEMU 8.1+; only when passing one through).</summary>
    public void WriteMultifdFlush() => WriteRecordHeader((ulong)RamSaveFlags.MultifdFlush);

    /// <summary>Writes EOS, the end of a RAM section's payload.</summary>
    public void WriteEndOfSection() => WriteRecordHeader((ulong)RamSaveFlags.Eos);

    /// <summary>Ends the current RAM section: EOS and the footer with its section id.</summary>
    public void EndRamSection()
    {
        if (!_inSection)
        {
            throw new InvalidOperationException("no section is open");
        }

        WriteEndOfSection();
        WriteSectionFooter(_sectionId);
    }

    /// <summary>Writes the EOF marker (0x00).</summary>
    public void WriteEof()
    {
        Reserve(1);
        _buffer[_count++] = (byte)SectionType.Eof;
    }

    /// <summary>Writes bytes verbatim (items copied from another stream).</summary>
    public void WriteRaw(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            if (_count == _buffer.Length)
            {
                FlushBuffer();
            }

            int take = Math.Min(bytes.Length, _buffer.Length - _count);
            bytes[..take].CopyTo(_buffer.AsSpan(_count));
            _count += take;
            bytes = bytes[take..];
        }
    }

    /// <summary>Writes the buffered bytes to the stream and flushes it.</summary>
    public void Flush()
    {
        FlushBuffer();
        _output.Flush();
    }

    /// <summary>Flushes, and disposes the stream unless the writer was created with leaveOpen.</summary>
    public void Dispose()
    {
        try
        {
            FlushBuffer();
            _output.Flush();
        }
        finally
        {
            if (!_leaveOpen)
            {
                _output.Dispose();
            }
        }
    }

    private void OpenSection(uint sectionId)
    {
        _sectionId = sectionId;
        _inSection = true;

        // Name the block again in each section's first record: QEMU's reader would accept CONTINUE across sections, but
        // a section that stands on its own is easier to resynchronise on and costs a few bytes per section.
        _lastBlock = -1;
    }

    private void RegisterBlocks(IReadOnlyList<RamBlockInfo> blocks)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (_blocks.Count != 0)
        {
            throw new InvalidOperationException("the RAM block list has been written already");
        }

        if (blocks.Count > MigrationFormat.MaxRamBlocks)
        {
            throw new ArgumentException($"at most {MigrationFormat.MaxRamBlocks} RAM blocks", nameof(blocks));
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (RamBlockInfo block in blocks)
        {
            byte[] name = Encoding.UTF8.GetBytes(block.Name);
            if (name.Length is 0 or > MigrationFormat.MaxCountedStringLength || !names.Add(block.Name))
            {
                throw new ArgumentException($"RAM block names must be unique and 1 to 255 bytes: '{block.Name}'", nameof(blocks));
            }

            if (block.Length <= 0 || block.Length % PageSizes.PageSize != 0)
            {
                throw new ArgumentException($"RAM block '{block.Name}' must have a positive length that is a multiple of 4096, got {block.Length}", nameof(blocks));
            }

            _blockNames.Add(name);
        }

        _blocks.AddRange(blocks);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void WritePageHeader(int block, long offset, RamSaveFlags kind, int bodyLength)
    {
        if ((uint)block >= (uint)_blocks.Count)
        {
            throw new ArgumentOutOfRangeException(nameof(block), block, "no such RAM block (write the block list first)");
        }

        if (offset < 0 || (offset & (PageSizes.PageSize - 1)) != 0 || offset > _blocks[block].Length - PageSizes.PageSize)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"a page offset must be page aligned and inside block '{_blocks[block].Name}'");
        }

        bool sameBlock = block == _lastBlock;
        byte[] name = _blockNames[block];
        int headerLength = MigrationFormat.RecordHeaderLength + (sameBlock ? 0 : 1 + name.Length);
        Span<byte> span = Reserve(headerLength + bodyLength);
        ulong flags = (ulong)kind | (sameBlock ? (ulong)RamSaveFlags.Continue : 0);
        BinaryPrimitives.WriteUInt64BigEndian(span, (ulong)offset | flags);
        if (!sameBlock)
        {
            span[8] = (byte)name.Length;
            name.CopyTo(span[9..]);
            _lastBlock = block;
        }

        _count += headerLength;
    }

    private void WriteRecordHeader(ulong value)
    {
        Span<byte> span = Reserve(MigrationFormat.RecordHeaderLength);
        BinaryPrimitives.WriteUInt64BigEndian(span, value);
        _count += MigrationFormat.RecordHeaderLength;
    }

    /// <summary>Room for <paramref name="length"/> contiguous bytes at <see cref="_count"/>; does not advance.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private Span<byte> Reserve(int length)
    {
        if (_buffer.Length - _count < length)
        {
            FlushBuffer();
        }

        return _buffer.AsSpan(_count, length);
    }

    private void FlushBuffer()
    {
        if (_count > 0)
        {
            _output.Write(_buffer, 0, _count);
            _flushed += _count;
            _count = 0;
        }
    }
}
