using System.Buffers.Binary;
using System.Text;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Wire;

// RAM section payload: the block list and the page records, each validated before anything is exposed.
internal sealed partial class MigrationStreamReader
{
    private const int XbzrleHeaderLength = 3;
    private bool _blockListSeen;

    private void ReadRamRecord()
    {
        int start = _position;
        Require(MigrationFormat.RecordHeaderLength, "a RAM record header (be64 offset | flags)");
        ulong header = BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(start));
        int flags = (int)(header & MigrationFormat.FlagMask);
        ulong address = header & ~MigrationFormat.FlagMask;
        _position = start + MigrationFormat.RecordHeaderLength;

        switch ((RamSaveFlags)flags)
        {
            case RamSaveFlags.Eos:
                RequireNoAddress(start, address, "EOS");
                _kind = MigrationItemKind.EndOfSection;
                _state = ReaderState.ExpectFooter;
                return;
            case RamSaveFlags.MultifdFlush:
                RequireNoAddress(start, address, "MULTIFD_FLUSH");
                RefuseInMappedRam(start, flags, "MULTIFD_FLUSH");
                _kind = MigrationItemKind.MultifdFlush;
                return;
            case RamSaveFlags.MemSize:
                ReadBlockList(start, address);
                return;
        }

        bool isContinue = (flags & (int)RamSaveFlags.Continue) != 0;
        MigrationItemKind kind = (RamSaveFlags)(flags & ~(int)RamSaveFlags.Continue) switch
        {
            RamSaveFlags.Zero => MigrationItemKind.ZeroPage,
            RamSaveFlags.Page => MigrationItemKind.RawPage,
            RamSaveFlags.CompressPage => MigrationItemKind.CompressedPage,
            RamSaveFlags.Xbzrle => MigrationItemKind.XbzrlePage,
            _ => throw Error(start, DescribeBadFlags(flags)),
        };

        RefuseInMappedRam(start, flags, kind switch
        {
            MigrationItemKind.ZeroPage => "ZERO",
            MigrationItemKind.RawPage => "PAGE",
            MigrationItemKind.CompressedPage => "COMPRESS_PAGE",
            _ => "XBZRLE",
        });
        if (!_blockListSeen)
        {
            throw Error(start, "found a page record before the RAM block list (MEM_SIZE 0x04)");
        }

        int block = isContinue ? ContinueBlock(start) : ReadBlockName();
        RamBlockInfo info = _blocks[block];
        if (address > (ulong)(info.Length - PageSizes.PageSize))
        {
            throw Error(start, $"expected a page offset below 0x{info.Length:X} (the length of block '{info.Name}'), found 0x{address:X}");
        }

        switch (kind)
        {
            case MigrationItemKind.ZeroPage:
                Require(1, "the zero page's fill byte");
                byte fill = _buffer[_position];
                if (fill != 0)
                {
                    // QEMU has written 0 here since 2.x; any other fill is not a stream QEMU makes.
                    throw Error(_position, $"expected the zero page fill byte 0x00, found 0x{fill:X2}");
                }

                _position++;
                break;
            case MigrationItemKind.RawPage:
                Require(PageSizes.PageSize, "the raw page's 4096 bytes");
                SetPayload(_position, PageSizes.PageSize);
                break;
            case MigrationItemKind.CompressedPage:
                ReadCompressedBody();
                break;
            default:
                ReadXbzrleBody();
                break;
        }

        _lastBlock = block;
        BlockIndex = block;
        PageOffset = (long)address;
        IsContinue = isContinue;
        _kind = kind;
    }

    private void RequireNoAddress(int start, ulong address, string what)
    {
        if (address != 0)
        {
            throw Error(start, $"expected {what} with offset bits 0, found offset 0x{address:X}");
        }
    }

    private int ContinueBlock(int start)
    {
        if (_lastBlock < 0)
        {
            throw Error(start, "found a CONTINUE record (0x20) with no previous block: the first page record must name its block");
        }

        return _lastBlock;
    }

    private int ReadBlockName()
    {
        int start = _position;
        Require(1, "the block name length");
        int length = _buffer[start];
        Require(1 + length, "the block name");
        ReadOnlySpan<byte> name = _buffer.AsSpan(start + 1, length);
        for (int i = 0; i < _blockNames.Count; i++)
        {
            if (name.SequenceEqual(_blockNames[i]))
            {
                _position = start + 1 + length;
                return i;
            }
        }

        throw Error(start, $"expected the name of an announced RAM block ({string.Join(", ", _blocks.Select(b => b.Name))}), found '{Printable(name)}'");
    }

    private void ReadCompressedBody()
    {
        int lengthAt = _position;
        Require(4, "the compressed page's be32 length");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(lengthAt));
        if (length == 0 || length > PageSizes.ZstdBound)
        {
            throw Error(lengthAt, $"expected a compressed length of 1 to {PageSizes.ZstdBound} bytes (zlib at most {PageSizes.ZlibBound}), found {length}");
        }

        if (_end - _position < 4 + (int)length)
        {
            // Only here: an interpolated description passed as an argument is built on every call, one string per page.
            Require(4 + (int)length, $"the compressed page's {length}-byte payload");
        }

        int payloadAt = lengthAt + 4;
        ReadOnlySpan<byte> payload = _buffer.AsSpan(payloadAt, (int)length);
        PayloadFormat.TryDetect(payload, out CompressMethod method);
        if (method == CompressMethod.None)
        {
            throw Error(payloadAt, $"expected a compressed page to start with a zlib header (78 ..) or the zstd magic (28 B5 2F FD), found {Convert.ToHexString(payload[..Math.Min(4, payload.Length)])}");
        }

        if (method == CompressMethod.Zlib && length > PageSizes.ZlibBound)
        {
            throw Error(lengthAt, $"expected a zlib page of at most {PageSizes.ZlibBound} bytes (compressBound(4096)), found {length}");
        }

        CompressMethod? expected = _options.ExpectedCompressMethod;
        if (expected is { } configured && configured != method)
        {
            throw Error(payloadAt, $"expected a {CompressionSettings.NameOf(configured)} page (configured compress-method), found a {CompressionSettings.NameOf(method)} payload");
        }

        PayloadMethod = method;
        _position = payloadAt + (int)length;
        SetPayload(payloadAt, (int)length);
    }

    private void ReadXbzrleBody()
    {
        int start = _position;
        Require(XbzrleHeaderLength, "the XBZRLE header (encoding byte, be16 length)");
        byte encoding = _buffer[start];
        if (encoding != MigrationFormat.XbzrleEncodingFlag)
        {
            throw Error(start, $"expected the XBZRLE encoding byte 0x01, found 0x{encoding:X2}");
        }

        int length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(start + 1));
        if (length > Xbzrle.MaxEncodedLength)
        {
            throw Error(start + 1, $"expected an XBZRLE length of at most {Xbzrle.MaxEncodedLength}, found {length}");
        }

        if (_end - _position < XbzrleHeaderLength + length)
        {
            Require(XbzrleHeaderLength + length, $"the {length}-byte XBZRLE delta"); // built only when needed, as above
        }

        int payloadAt = start + XbzrleHeaderLength;
        if (!Xbzrle.Validate(_buffer.AsSpan(payloadAt, length), out int errorOffset, out string? error))
        {
            throw Error(payloadAt + errorOffset, $"malformed XBZRLE delta: {error}");
        }

        _position = payloadAt + length;
        SetPayload(payloadAt, length);
    }

    private static string Gib(double bytes) => bytes >= 1L << 30
        ? (bytes / (1L << 30)).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + " GiB"
        : (bytes / (1L << 20)).ToString("0.##", System.Globalization.CultureInfo.InvariantCulture) + " MiB";

    private void ReadBlockList(int start, ulong total)
    {
        if (_currentSectionType != SectionType.Start)
        {
            throw Error(start, "found the RAM block list (MEM_SIZE 0x04) outside the RAM section's START");
        }

        if (_blockListSeen)
        {
            throw Error(start, "found a second RAM block list (MEM_SIZE 0x04)");
        }

        if (total > (ulong)_options.MaxTotalRamBytes)
        {
            // Before anything is allocated: the announced size is named, so the user can raise the bound (engine incoming --max-ram).
            throw Error(start, $"expected a total RAM size of at most {_options.MaxTotalRamBytes} bytes ({Gib(_options.MaxTotalRamBytes)}, MaxTotalRamBytes, engine incoming --max-ram), found {total} bytes ({Gib(total)}) announced by the source");
        }

        ulong remaining = total;
        int entryTail = _ignoreShared ? 16 : 8;
        int mappedRamHeader = _mappedRam ? MappedRamHeaderLength : 0;
        while (remaining > 0)
        {
            int entry = _position;
            if (_blocks.Count == MigrationFormat.MaxRamBlocks)
            {
                throw Error(entry, $"expected at most {MigrationFormat.MaxRamBlocks} RAM blocks, found more with 0x{remaining:X} bytes still to announce");
            }

            Require(1, "a RAM block name length");
            int nameLength = _buffer[entry];
            if (nameLength == 0)
            {
                throw Error(entry, "expected a RAM block name of 1 to 255 bytes, found length 0");
            }

            Require(1 + nameLength + entryTail + mappedRamHeader, _mappedRam
                ? "a RAM block entry (name, be64 used length, 28-byte mapped-ram header)"
                : "a RAM block entry (name, be64 used length)");
            ReadOnlySpan<byte> name = _buffer.AsSpan(entry + 1, nameLength);
            int lengthAt = entry + 1 + nameLength;
            ulong used = BinaryPrimitives.ReadUInt64BigEndian(_buffer.AsSpan(lengthAt));
            if (used == 0 || used % PageSizes.PageSize != 0)
            {
                throw Error(lengthAt, $"expected block '{Printable(name)}' to have a used length that is a non-zero multiple of 4096, found 0x{used:X}");
            }

            if (used > remaining)
            {
                throw Error(lengthAt, $"expected block '{Printable(name)}' to fit in the announced total (0x{remaining:X} bytes left), found a length of 0x{used:X}");
            }

            foreach (byte[] known in _blockNames)
            {
                if (name.SequenceEqual(known))
                {
                    throw Error(entry, $"found RAM block '{Printable(name)}' twice in the block list");
                }
            }

            byte[] nameBytes = name.ToArray();
            string blockName = Encoding.UTF8.GetString(nameBytes);
            _blockNames.Add(nameBytes);
            _blocks.Add(new RamBlockInfo(blockName, (long)used));
            remaining -= used;
            _position = lengthAt + entryTail;
            if (_mappedRam)
            {
                if (_plainBlockList is null)
                {
                    _plainBlockList = new MemoryStream();
                    _plainBlockList.Write(_buffer, start, MigrationFormat.RecordHeaderLength);
                }

                _plainBlockList.Write(_buffer, entry, _position - entry);
                // The entry's bitmap and pages sit between it and the next one, so the list is not one contiguous item.
                _rawItemValid = false;
                ReadMappedRamEntry(blockName, (long)used);
            }
        }

        TotalRamBytes = (long)total;
        _blockListSeen = true;
        _kind = MigrationItemKind.RamBlockList;
    }

    private void SetPayload(int start, int length)
    {
        _payloadStart = start;
        _payloadLength = length;
        if (_position < start + length)
        {
            _position = start + length;
        }
    }

    private static string DescribeBadFlags(int flags)
    {
        string what = (flags & ~(int)RamSaveFlags.Continue) switch
        {
            (int)RamSaveFlags.Hook => "the RDMA hook flag (0x80), which is not supported",
            (int)RamSaveFlags.Full => "the obsolete FULL flag (0x01)",
            0 => "no record kind (only CONTINUE)",
            _ => "an unknown combination of flags",
        };
        return $"expected RAM record flags that are exactly one of ZERO 0x02, PAGE 0x08, XBZRLE 0x40, COMPRESS_PAGE 0x100 "
            + $"(each optionally with CONTINUE 0x20), or EOS 0x10, MEM_SIZE 0x04, MULTIFD_FLUSH 0x200 alone; found 0x{flags:X3}: {what}";
    }
}
