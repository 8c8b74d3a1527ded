using System.Buffers.Binary;
using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Wire;

// QEMU's mapped-ram files (9.0+): each block list entry is followed by a MappedRamHeader, the block's bitmap, and its pages
// at a fixed, page-aligned file offset; the stream goes on after the pages. No page records appear in the stream.
internal sealed partial class MigrationStreamReader
{
    /// <summary>be32 version, be64 page_size, be64 bitmap_offset, be64 pages_offset.</summary>
    private const int MappedRamHeaderLength = 28;

    /// <summary>The newest MappedRamHeader version QEMU loads (10.0 writes 1 and accepts up to 1).</summary>
    private const uint MappedRamMaxVersion = 1;

    private readonly List<MappedRamBlock> _mappedRamBlocks = new();
    private bool _mappedRam;
    private long _inputBase;
    private long _inputLength = -1;
    private (int Start, int CountAt, int End) _capabilitiesSubsection;
    private int _mappedRamCapabilityAt;
    private MemoryStream? _plainBlockList;

    /// <summary>True when the configuration lists the <c>mapped-ram</c> capability: the pages are at fixed file offsets.</summary>
    public bool IsMappedRam => _mappedRam;

    /// <summary>
    /// In a mapped-ram stream, where each block's bitmap and pages are, one entry per <see cref="Blocks"/> entry, in the
    /// same order, filled as the block list is read. Empty otherwise.
    /// </summary>
    public IReadOnlyList<MappedRamBlock> MappedRamBlocks => _mappedRamBlocks;

    /// <summary>
    /// The file offset of stream offset 0 when the input is seekable (non-zero when the caller positioned the input past
    /// a header of its own, e.g. libvirt's save-image header); 0 otherwise. The offsets in a MappedRamHeader are file
    /// offsets: stream offset = file offset - this.
    /// </summary>
    public long InputBaseOffset => _inputBase;

    /// <summary>
    /// On the configuration item of a mapped-ram stream: its bytes without the mapped-ram capability (the capabilities
    /// subsection left out when it listed nothing else), as QEMU writes the configuration of a stream without mapped-ram.
    /// A destination that writes the received RAM as an ordinary stream (a checkpoint) keeps this instead of <see cref="RawItem"/>.
    /// </summary>
    internal byte[] ConfigurationWithoutMappedRam()
    {
        if (!_mappedRam || _kind != MigrationItemKind.Configuration)
        {
            throw new InvalidOperationException("the reader is not on the configuration of a mapped-ram stream");
        }

        ReadOnlySpan<byte> raw = RawItem;
        (int start, int countAt, int end) = _capabilitiesSubsection;
        if (_capabilities.Count == 1)
        {
            return [.. raw[..start], .. raw[end..]];
        }

        byte[] result = [.. raw[.._mappedRamCapabilityAt], .. raw[(_mappedRamCapabilityAt + 1 + "mapped-ram".Length)..]];
        BinaryPrimitives.WriteUInt32BigEndian(result.AsSpan(countAt), (uint)_capabilities.Count - 1);
        return result;
    }

    /// <summary>
    /// After the block list of a mapped-ram stream: the list as a stream without mapped-ram carries it (MEM_SIZE record,
    /// then each entry without its MappedRamHeader), for a destination that writes the RAM out as an ordinary stream.
    /// </summary>
    internal ReadOnlySpan<byte> PlainBlockList => _plainBlockList is null ? ReadOnlySpan<byte>.Empty : _plainBlockList.GetBuffer().AsSpan(0, (int)_plainBlockList.Length);

    private void BeginMappedRam(int capabilityAt)
    {
        if (!_options.AcceptMappedRam)
        {
            throw Error(capabilityAt, "found capability 'mapped-ram': this is a QEMU mapped-ram file (migrate file: with the mapped-ram "
                + "capability, e.g. libvirt's virsh save), whose pages are at fixed file offsets rather than records in the stream; "
                + "this command cannot load it (engine inspect, engine extract and engine incoming --from file: read it)");
        }

        if (_mappedRam)
        {
            throw Error(capabilityAt, "found capability 'mapped-ram' a second time in the configuration");
        }

        _mappedRam = true;
        if (_input.CanSeek)
        {
            // The input has been read up to stream offset _bufferOrigin + _end; that tells where stream offset 0 is in the file.
            long inputBase = _input.Position - (_bufferOrigin + _end);
            if (inputBase >= 0)
            {
                _inputBase = inputBase;
                _inputLength = _input.Length - inputBase;
            }
        }
    }

    /// <summary>
    /// Reads the MappedRamHeader at <see cref="_position"/> (made available by the caller), then the bitmap after it,
    /// then moves on to the end of the block's pages, where the next entry or EOS is.
    /// </summary>
    private void ReadMappedRamEntry(string name, long used)
    {
        int at = _position;
        long headerOffset = _bufferOrigin + at;
        uint version = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(at));
        if (version > MappedRamMaxVersion)
        {
            throw Error(at, $"expected mapped-ram header version 0 or 1 for block '{name}', found {version} (QEMU loads at most version {MappedRamMaxVersion})");
        }

        ulong pageSize = BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(at + 4));
        if (pageSize != PageSizes.PageSize)
        {
            throw Error(at + 4, $"expected mapped-ram page_size {PageSizes.PageSize} for block '{name}', found {pageSize}");
        }

        ulong bitmapOffset = BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(at + 12));
        ulong pagesOffset = BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(at + 20));
        long headerEnd = headerOffset + MappedRamHeaderLength;
        long pageCount = used / PageSizes.PageSize;
        long bitmapSize = PageBits.WordCount(pageCount) * sizeof(ulong);
        long bitmapFileOffset = _inputBase + headerEnd;
        if (bitmapOffset != (ulong)bitmapFileOffset)
        {
            throw Error(at + 12, $"expected block '{name}''s mapped-ram bitmap_offset to be {bitmapFileOffset} (right after its header), found {bitmapOffset}");
        }

        long bitmapEnd = headerEnd + bitmapSize;
        if (_inputLength >= 0 && bitmapEnd > _inputLength)
        {
            throw Error(at + 12, $"expected block '{name}''s {bitmapSize}-byte bitmap at file offset {bitmapOffset} to lie inside the file, which ends at file offset {_inputBase + _inputLength}");
        }

        if (pagesOffset % PageSizes.PageSize != 0)
        {
            throw Error(at + 20, $"expected block '{name}''s mapped-ram pages_offset to be a multiple of {PageSizes.PageSize}, found {pagesOffset} (0x{pagesOffset:X})");
        }

        if (pagesOffset < (ulong)(_inputBase + bitmapEnd))
        {
            throw Error(at + 20, $"expected block '{name}''s mapped-ram pages_offset at or after the end of its bitmap (file offset {_inputBase + bitmapEnd}), "
                + $"found {pagesOffset}: its pages would overlap its bitmap, the block list or an earlier block");
        }

        if (pagesOffset > (ulong)(long.MaxValue - used - _inputBase))
        {
            throw Error(at + 20, $"expected block '{name}''s mapped-ram pages_offset to leave room for its {used} bytes, found {pagesOffset}");
        }

        long pagesStart = (long)pagesOffset - _inputBase;
        long pagesEnd = pagesStart + used;
        if (_inputLength >= 0 && pagesEnd > _inputLength)
        {
            throw Error(at + 20, $"expected block '{name}''s pages ({used} bytes at file offset {pagesOffset}) to lie inside the file, which ends at file offset {_inputBase + _inputLength}");
        }

        _position = at + MappedRamHeaderLength;
        var bitmap = new ulong[bitmapSize / 8];
        ReadMappedRamBitmap(bitmap, headerEnd, name);
        int tailBits = (int)(pageCount & PageBits.WordMask);
        if (tailBits != 0 && (bitmap[^1] >> tailBits) != 0)
        {
            throw new MigrationStreamException(bitmapEnd - 8, $"expected block '{name}''s bitmap to have no bit set past its last page ({pageCount} pages), found 0x{bitmap[^1]:X16} in its last word");
        }

        long present = PageBits.Count(bitmap);
        _mappedRamBlocks.Add(new MappedRamBlock(name, used, headerOffset, version, (long)bitmapOffset, bitmapSize, (long)pagesOffset, bitmap, present));
        AdvanceTo(pagesEnd, $"block '{name}''s mapped-ram pages region");
    }

    /// <summary>Consumes the bitmap's bytes into <paramref name="bitmap"/> (little-endian words on the wire).</summary>
    private void ReadMappedRamBitmap(ulong[] bitmap, long bitmapStart, string name)
    {
        Span<byte> destination = MemoryMarshal.AsBytes(bitmap.AsSpan());
        int done = 0;
        while (done < destination.Length)
        {
            // Nothing before _position is kept (the block list item of a mapped-ram stream is not exposed raw).
            ReadOnlySpan<byte> buffered = ConsumeBuffered(destination.Length - done);
            if (buffered.IsEmpty)
            {
                throw new MigrationStreamException(
                    bitmapStart,
                    $"expected block '{name}''s {destination.Length}-byte mapped-ram bitmap, found the end of the stream after {done} bytes of it");
            }

            buffered.CopyTo(destination[done..]);
            done += buffered.Length;
        }

        if (!BitConverter.IsLittleEndian)
        {
            for (int i = 0; i < bitmap.Length; i++)
            {
                bitmap[i] = BinaryPrimitives.ReverseEndianness(bitmap[i]);
            }
        }
    }

    /// <summary>
    /// Moves the reader to stream offset <paramref name="target"/> (at or after <see cref="Position"/>): by a seek when the
    /// input is seekable, so a large pages region is never read, otherwise by reading past it.
    /// </summary>
    private void AdvanceTo(long target, string what)
    {
        long now = _bufferOrigin + _position;
        if (target <= _bufferOrigin + _end)
        {
            _position = (int)(target - _bufferOrigin);
        }
        else if (_inputLength >= 0)
        {
            try
            {
                _input.Seek(_inputBase + target, SeekOrigin.Begin);
            }
            catch (IOException e)
            {
                throw new MigrationStreamException(now, $"seeking past {what} to file offset {_inputBase + target} failed: {e.Message}", e);
            }

            _bufferOrigin = target;
            _position = 0;
            _end = 0;
            _inputEnded = false;
        }
        else
        {
            Skip(target - now, what);
        }

        // The next entry is parsed from _position on: keep room after it, as between items.
        _itemStart = _position;
        MakeRoomForItem();
        _itemStart = _position;
    }

    /// <summary>Refuses a record that QEMU's mapped-ram loader refuses too: in such a stream pages are only at their offsets.</summary>
    private void RefuseInMappedRam(int start, int flags, string name)
    {
        if (_mappedRam)
        {
            throw Error(start, $"found a {name} record (flags 0x{flags:X3}) in a mapped-ram stream, whose pages are only at fixed file offsets "
                + "and whose RAM sections carry only EOS (QEMU refuses it too)");
        }
    }
}
