using System.Buffers;
using System.Buffers.Binary;
using System.Text;
using Engine.Codecs;

namespace Engine.Wire;

/// <summary>
/// A hardened pull reader of QEMU's migration stream (version 3), RAM section. Each <see cref="Read"/> parses and
/// validates one item (file header, configuration, section header, RAM record, footer...) and exposes it through the
/// properties; payload spans point into the reader's own buffer and stay valid until the next <see cref="Read"/>.
/// </summary>
/// <remarks>
/// <para>
/// Every field is validated before it is used: block names must have been announced by the block list, page offsets
/// must lie inside their block, compressed lengths must be within their method's bound, counted strings and lists are
/// capped, section ids and footers must match, and unknown flags or section types are rejected. Anything wrong,
/// including the input ending at any byte, throws a <see cref="MigrationStreamException"/> carrying the byte offset of
/// the offending field; after that the reader is faulted.
/// </para>
/// <para>
/// The reader rents one buffer of <see cref="MigrationStreamReaderOptions.BufferSize"/> bytes from the shared array pool
/// for its lifetime (returned by <see cref="Dispose"/>); parsing a page allocates nothing. A closed input ends the
/// stream (an error unless the stream is complete); a stalled input is bounded by
/// <see cref="MigrationStreamReaderOptions.ReadTimeout"/> and <see cref="MigrationStreamReaderOptions.CancellationToken"/>.
/// </para>
/// <para>Not thread-safe: one thread reads.</para>
/// </remarks>
public sealed partial class MigrationStreamReader : IDisposable
{
    private readonly Stream _input;
    private readonly bool _leaveOpen;
    private readonly MigrationStreamReaderOptions _options;
    private readonly List<RamBlockInfo> _blocks = new();
    private readonly List<byte[]> _blockNames = new();
    private readonly List<string> _capabilities = new();

    private ReaderState _state = ReaderState.ExpectFileHeader;
    private MigrationItemKind _kind;
    private int _itemStart;
    private long _itemOffset;
    private bool _rawItemValid;
    private int _payloadStart;
    private int _payloadLength;
    private bool _ramStarted;
    private bool _ramEnded;
    private bool _ignoreShared;
    private uint _ramSectionId;
    private uint _currentSectionId;
    private SectionType _currentSectionType;
    private int _lastBlock = -1;
    private bool _disposed;
    private bool _readAbandoned;

    /// <summary>Creates a reader over <paramref name="input"/>, which is read from its current position.</summary>
    public MigrationStreamReader(Stream input, MigrationStreamReaderOptions? options = null, bool leaveOpen = false)
    {
        ArgumentNullException.ThrowIfNull(input);
        _input = input;
        _leaveOpen = leaveOpen;
        _options = options ?? new MigrationStreamReaderOptions();
        if (_options.MaxTotalRamBytes <= 0)
        {
            throw new ArgumentOutOfRangeException(nameof(options), "MaxTotalRamBytes must be positive");
        }

        _buffer = ArrayPool<byte>.Shared.Rent(Math.Max(_options.BufferSize, MigrationStreamReaderOptions.MinBufferSize));
    }

    private enum ReaderState
    {
        ExpectFileHeader,
        AfterFileHeader,
        TopLevel,
        RamPayload,
        ExpectFooter,
        AfterEof,
        Done,
        Faulted,
    }

    /// <summary>The item the last <see cref="Read"/> produced.</summary>
    public MigrationItemKind Kind => _kind;

    /// <summary>The stream offset of the current item's first byte.</summary>
    public long ItemOffset => _itemOffset;

    /// <summary>The stream offset just past the current item: every byte before it has been consumed.</summary>
    public long Position => _bufferOrigin + _position;

    /// <summary>
    /// The current item's bytes exactly as they are on the wire; empty for a <see cref="MigrationItemKind.VmDescription"/>,
    /// which is skipped rather than buffered. Valid until the next <see cref="Read"/>.
    /// </summary>
    public ReadOnlySpan<byte> RawItem => _rawItemValid ? _buffer.AsSpan(_itemStart, _position - _itemStart) : ReadOnlySpan<byte>.Empty;

    /// <summary>
    /// The current record's body: the 4096 bytes of a raw page, the payload of a compressed page, the encoded bytes of an
    /// XBZRLE delta; empty otherwise. Valid until the next <see cref="Read"/>.
    /// </summary>
    public ReadOnlySpan<byte> Payload => _buffer.AsSpan(_payloadStart, _payloadLength);

    /// <summary>The stream offset of <see cref="Payload"/>.</summary>
    public long PayloadOffset => _bufferOrigin + _payloadStart;

    /// <summary>The method of the current compressed page, told by its first bytes.</summary>
    public CompressMethod PayloadMethod { get; private set; }

    /// <summary>The file version from the header (always 3 once read).</summary>
    public uint FileVersion { get; private set; }

    /// <summary>The machine type from the configuration section, or null when the stream has none.</summary>
    public string? MachineType { get; private set; }

    /// <summary>The capability names from the configuration's capabilities subsection.</summary>
    public IReadOnlyList<string> ConfigurationCapabilities => _capabilities;

    /// <summary>The type of the current or last section header (START, PART, END).</summary>
    public SectionType SectionType => _currentSectionType;

    /// <summary>The id of the current or last section.</summary>
    public uint SectionId => _currentSectionId;

    /// <summary>The id string of the last START section (<c>ram</c>).</summary>
    public string? SectionName { get; private set; }

    /// <summary>The instance id of the last START section.</summary>
    public uint SectionInstanceId { get; private set; }

    /// <summary>The version id of the last START section.</summary>
    public uint SectionVersionId { get; private set; }

    /// <summary>The command of the current <see cref="MigrationItemKind.Command"/> item.</summary>
    public ushort CommandId { get; private set; }

    /// <summary>The total RAM size announced by the block list.</summary>
    public long TotalRamBytes { get; private set; }

    /// <summary>The RAM blocks announced by the block list, in stream order; indices are the <see cref="BlockIndex"/> values.</summary>
    public IReadOnlyList<RamBlockInfo> Blocks => _blocks;

    /// <summary>The block of the current page record, an index into <see cref="Blocks"/>.</summary>
    public int BlockIndex { get; private set; } = -1;

    /// <summary>The offset inside its block of the current page record, page aligned and inside the block.</summary>
    public long PageOffset { get; private set; }

    /// <summary>True when the current page record carried the CONTINUE flag (no block name).</summary>
    public bool IsContinue { get; private set; }

    /// <summary>True once the RAM section's END footer has been read: all of guest RAM is in.</summary>
    public bool IsRamComplete => _ramEnded && _state != ReaderState.ExpectFooter && _state != ReaderState.RamPayload;

    /// <summary>
    /// Reads and validates the next item. Returns false at the end: after RAM's END footer when
    /// <see cref="MigrationStreamReaderOptions.StopAfterRamEnd"/> is set, otherwise at the end of a complete stream.
    /// </summary>
    /// <exception cref="MigrationStreamException">The stream is malformed, truncated, unsupported or stalled.</exception>
    /// <exception cref="OperationCanceledException">The options' cancellation token was cancelled.</exception>
    public bool Read()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_state == ReaderState.Faulted)
        {
            throw new InvalidOperationException("the reader has failed before; a migration stream cannot be resumed after an error");
        }

        try
        {
            return ReadCore();
        }
        catch
        {
            _state = ReaderState.Faulted;
            _kind = MigrationItemKind.None;
            throw;
        }
    }

    private bool ReadCore()
    {
        BeginItem();
        switch (_state)
        {
            case ReaderState.ExpectFileHeader:
                ReadFileHeader();
                return true;
            case ReaderState.AfterFileHeader:
            case ReaderState.TopLevel:
                return ReadTopLevel();
            case ReaderState.RamPayload:
                ReadRamRecord();
                return true;
            case ReaderState.ExpectFooter:
                ReadFooter();
                return true;
            case ReaderState.AfterEof:
                return ReadAfterEof();
            default:
                _kind = MigrationItemKind.None;
                return false;
        }
    }

    private void BeginItem()
    {
        MakeRoomForItem();
        _itemStart = _position;
        _itemOffset = _bufferOrigin + _position;
        _rawItemValid = true;
        _payloadStart = _position;
        _payloadLength = 0;
        _kind = MigrationItemKind.None;
    }

    private void ReadFileHeader()
    {
        Require(8, "the file header (magic 'QEVM' and version)");
        uint magic = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_position));
        if (magic != MigrationFormat.FileMagic)
        {
            // 16 03 0x: a TLS handshake record (ClientHello) from a source that uses TLS, on a listener that does not.
            string hint = (magic >> 16) == 0x1603 ? " (a TLS handshake: the source uses TLS; give the destination --tls-creds)" : "";
            throw Error(_position, $"expected the file magic 0x{MigrationFormat.FileMagic:X8} ('QEVM'), found 0x{magic:X8}{hint}");
        }

        uint version = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_position + 4));
        if (version != MigrationFormat.FileVersion)
        {
            string hint = version == MigrationFormat.FileVersionCompat ? " (version 2 is too old; QEMU refuses it too)" : string.Empty;
            throw Error(_position + 4, $"expected file version {MigrationFormat.FileVersion}, found {version}{hint}");
        }

        _position += 8;
        FileVersion = version;
        _kind = MigrationItemKind.FileHeader;
        _state = ReaderState.AfterFileHeader;
    }

    private bool ReadTopLevel()
    {
        if (!TryRequire(1))
        {
            throw Error(_position, $"expected a section type byte ({ExpectedTopLevel()}), found the end of the stream");
        }

        byte type = _buffer[_position];
        bool first = _state == ReaderState.AfterFileHeader;
        _state = ReaderState.TopLevel;
        switch ((SectionType)type)
        {
            case SectionType.Configuration when first:
                ReadConfiguration();
                return true;
            case SectionType.Start:
            case SectionType.Full:
                ReadSectionStart((SectionType)type);
                return true;
            case SectionType.Part:
            case SectionType.End:
                ReadSectionPartOrEnd((SectionType)type);
                return true;
            case SectionType.Command:
                ReadCommand();
                return true;
            case SectionType.Eof:
                ReadEof();
                return true;
            case SectionType.Configuration:
                throw Error(_position, "found a second configuration section (0x07); it is only allowed right after the file header");
            default:
                throw Error(_position, $"expected a section type byte ({ExpectedTopLevel()}), found 0x{type:X2}{DescribeTopLevel(type)}");
        }
    }

    private string ExpectedTopLevel()
        => _ramEnded ? "EOF 0x00 or COMMAND 0x08" : _ramStarted ? "PART 0x02, END 0x03 or COMMAND 0x08" : "START 0x01 of the RAM section or COMMAND 0x08";

    private static string DescribeTopLevel(byte type) => (SectionType)type switch
    {
        SectionType.Subsection => " (a subsection outside any section)",
        SectionType.VmDescription => " (a VM description before EOF)",
        SectionType.Footer => " (a section footer outside any section)",
        _ => " (unknown section type)",
    };

    private void ReadEof()
    {
        if (!_ramEnded)
        {
            throw Error(_position, _ramStarted
                ? "found EOF (0x00) before the RAM section's END: the stream ends with guest RAM incomplete"
                : "found EOF (0x00) before any RAM section");
        }

        _position++;
        _kind = MigrationItemKind.Eof;
        _state = ReaderState.AfterEof;
    }

    private bool ReadAfterEof()
    {
        if (!TryRequire(1))
        {
            _state = ReaderState.Done;
            return false;
        }

        byte type = _buffer[_position];
        if (type != (byte)SectionType.VmDescription)
        {
            throw Error(_position, $"expected a VM description (0x06) or the end of the stream after EOF, found 0x{type:X2}");
        }

        Require(5, "the VM description header (0x06, be32 length)");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_position + 1));
        if (length > (uint)_options.MaxVmDescriptionLength)
        {
            throw Error(_position + 1, $"expected a VM description of at most {_options.MaxVmDescriptionLength} bytes, found a length of {length}");
        }

        _position += 5;
        _kind = MigrationItemKind.VmDescription;
        _rawItemValid = false;
        Skip(length, "the VM description JSON");

        // The description is the last thing QEMU writes; anything after it is not a migration stream.
        if (TryRequire(1))
        {
            throw Error(_position, $"expected the end of the stream after the VM description, found 0x{_buffer[_position]:X2}");
        }

        _state = ReaderState.Done;
        return true;
    }

    private void ReadCommand()
    {
        Require(5, "a command header (0x08, be16 command, be16 length)");
        ushort command = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_position + 1));
        ushort length = BinaryPrimitives.ReadUInt16BigEndian(_buffer.AsSpan(_position + 3));
        if (command is 0 or > QemuStreamFeatures.LastCommand)
        {
            throw Error(_position + 1, $"expected a command id 1 to {QemuStreamFeatures.LastCommand} (QEMU 10.0's MIG_CMD_OPEN_RETURN_PATH to MIG_CMD_SWITCHOVER_START), found {command}");
        }

        if (command == 7)
        {
            // PACKAGED wraps a nested stream for postcopy; RAM-only precopy parsing cannot follow it.
            throw Error(_position + 1, "found command 7 (PACKAGED, postcopy), which is not supported");
        }

        if (command == QemuStreamFeatures.SwitchoverStart && length != 0)
        {
            // QEMU 10.0 sends it bare (08 00 0b 00 00); a body would be a different command than the one named.
            throw Error(_position + 3, $"expected command {command} (SWITCHOVER_START) to have no body, found a length of {length}");
        }

        Require(5 + length, $"the {length}-byte body of command {command}");
        _position += 5 + length;
        CommandId = command;
        _kind = MigrationItemKind.Command;
    }

    private void ReadSectionStart(SectionType type)
    {
        int start = _position;
        Require(6, "a section header (type, be32 section id, id string length)");
        uint sectionId = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(start + 1));
        int nameLength = _buffer[start + 5];
        if (nameLength == 0)
        {
            throw Error(start + 5, "expected a section id string of 1 to 255 bytes, found length 0");
        }

        Require(6 + nameLength + 8, "the section header's id string, instance id and version id");
        ReadOnlySpan<byte> name = _buffer.AsSpan(start + 6, nameLength);
        uint instance = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(start + 6 + nameLength));
        uint version = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(start + 10 + nameLength));
        bool isRam = name.SequenceEqual("ram"u8);
        if (!isRam)
        {
            throw Error(start, $"found a {TypeName(type)} section for '{Printable(name)}' (id {sectionId}){QemuStreamFeatures.DescribeSection(Encoding.ASCII.GetString(name))}; "
                + "only the RAM section can be parsed, "
                + (_ramEnded ? "and device sections after its END need their schema" : "and it must come first"));
        }

        if (type != SectionType.Start)
        {
            throw Error(start, "expected the RAM section to open with START (0x01), found FULL (0x04)");
        }

        if (_ramStarted)
        {
            throw Error(start, $"found a second START for the RAM section (id {sectionId}); the first had id {_ramSectionId}");
        }

        if (instance != MigrationFormat.RamInstanceId)
        {
            throw Error(start + 6 + nameLength, $"expected RAM instance id 0, found {instance}");
        }

        if (version != MigrationFormat.RamSectionVersion)
        {
            throw Error(start + 10 + nameLength, $"expected RAM section version {MigrationFormat.RamSectionVersion}, found {version}");
        }

        _position = start + 14 + nameLength;
        _ramStarted = true;
        _ramSectionId = sectionId;
        _currentSectionId = sectionId;
        _currentSectionType = SectionType.Start;
        SectionName = MigrationFormat.RamSectionName;
        SectionInstanceId = instance;
        SectionVersionId = version;
        _kind = MigrationItemKind.SectionHeader;
        _state = ReaderState.RamPayload;
    }

    private void ReadSectionPartOrEnd(SectionType type)
    {
        int start = _position;
        Require(5, $"a {TypeName(type)} section header (type, be32 section id)");
        uint sectionId = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(start + 1));
        if (!_ramStarted)
        {
            throw Error(start, $"found a {TypeName(type)} section (id {sectionId}) before the RAM section's START");
        }

        if (_ramEnded)
        {
            throw Error(start, $"found a {TypeName(type)} section (id {sectionId}) after the RAM section's END");
        }

        if (sectionId != _ramSectionId)
        {
            throw Error(start + 1, $"expected section id {_ramSectionId} (RAM), found {sectionId}, which no START opened");
        }

        _position = start + 5;
        _currentSectionId = sectionId;
        _currentSectionType = type;
        _kind = MigrationItemKind.SectionHeader;
        _state = ReaderState.RamPayload;
    }

    private void ReadFooter()
    {
        int start = _position;
        Require(MigrationFormat.FooterLength, $"the section footer (0x7E, be32 section id {_currentSectionId})");
        byte marker = _buffer[start];
        if (marker != (byte)SectionType.Footer)
        {
            throw Error(start, $"expected the section footer byte 0x7E after the RAM payload's EOS, found 0x{marker:X2}");
        }

        uint id = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(start + 1));
        if (id != _currentSectionId)
        {
            throw Error(start + 1, $"expected the footer's section id {_currentSectionId}, found {id}");
        }

        _position = start + MigrationFormat.FooterLength;
        _kind = MigrationItemKind.SectionFooter;
        if (_currentSectionType == SectionType.End)
        {
            _ramEnded = true;
            _state = _options.StopAfterRamEnd ? ReaderState.Done : ReaderState.TopLevel;
        }
        else
        {
            _state = ReaderState.TopLevel;
        }
    }

    private static string TypeName(SectionType type) => type switch
    {
        SectionType.Start => "START",
        SectionType.Part => "PART",
        SectionType.End => "END",
        SectionType.Full => "FULL",
        _ => type.ToString(),
    };

    /// <summary>Renders wire bytes for an error message: printable ASCII as is, the rest as \xNN, capped.</summary>
    internal static string Printable(ReadOnlySpan<byte> bytes)
    {
        var text = new StringBuilder();
        foreach (byte b in bytes.Length > 64 ? bytes[..64] : bytes)
        {
            if (b is >= 0x20 and < 0x7F)
            {
                text.Append((char)b);
            }
            else
            {
                text.Append($"\\x{b:X2}");
            }
        }

        return bytes.Length > 64 ? text.Append("...").ToString() : text.ToString();
    }

    private MigrationStreamException Error(int bufferIndex, string message) => new(_bufferOrigin + bufferIndex, message);

    /// <summary>Disposes the input unless the reader was created with leaveOpen, and returns the buffer to the pool.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        if (!_leaveOpen)
        {
            _input.Dispose();
        }

        // A read abandoned after a stall may still write into the buffer; such a buffer is left to the GC, never pooled.
        if (!_readAbandoned)
        {
            ArrayPool<byte>.Shared.Return(_buffer);
        }

        _buffer = Array.Empty<byte>();
        _state = ReaderState.Faulted;
    }
}
