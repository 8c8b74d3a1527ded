using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Receive;
using Engine.Tools;
using Engine.Wire;

namespace Engine.Relay;

/// <summary>
/// The receive loop's target for a relay that writes multifd on (<c>engine relay --to-multifd-channels N</c>): every page,
/// whether it came on the source's one stream or on its multifd channels, goes out in a multifd packet on one of N channels
/// opened to the destination (QEMU 7.2 to 10.0's hello and packet format, as <see cref="MultifdPageSender"/>); zero pages go
/// as ZERO records on the main stream; every other item of the main stream goes to the re-encoder it was built with
/// (file header, configuration, commands, section headers and footers, the block list: verbatim or re-framed).
/// </summary>
/// <remarks>
/// <para>
/// The barrier is written in the framing of the destination's machine type (<see cref="QemuMachineType"/>): a SYNC packet on
/// every channel before each EOS for a type up to 8.0, and for 8.1+ also the MULTIFD_FLUSH record (0x200) after those
/// SYNCs, where such a destination syncs. The type is the one given (<c>--machine-type</c>); else the source's own framing
/// when the stream tells it (a 0x200 before the first EOS: per round; a multifd source whose setup section ends without one:
/// per section); else, for a single-stream source, the type its configuration names (a QEMU destination must run the
/// source's type). Besides every EOS, a barrier is written at every 0x200 of the source: a per-round source may send a page again
/// after it within one section, and only the barrier keeps the destination's channels from applying the two copies out of
/// order. A per-section destination cannot take a barrier inside a section, so such a source into it is refused.
/// </para>
/// <para>
/// Design: the loop's thread (the only caller) copies each page into a batch's own page buffer
/// (<see cref="MultifdBatch.Pages"/>; compressed pages are decoded there), and hands full batches to the channels'
/// threads through <see cref="MultifdSendChannel"/>'s ring (its orderings apply: a batch is the loop thread's while Free or
/// Done, the channel's while Submitted). The channel threads find the zero pages and compress the rest; the loop thread
/// reaps each Done batch and writes its zero pages' ZERO records. <see cref="Dispose"/> stops and joins every channel thread
/// on every path.
/// </para>
/// </remarks>
internal sealed class MultifdOutputTarget : IPageTarget, IDisposable
{
    private readonly IPageTarget _streamItems;
    private readonly MigrationStreamWriter _writer;
    private readonly TranscodeResult _result;
    private readonly int _channelCount;
    private readonly CompressMethod _compression;
    private readonly byte[] _uuid;
    private readonly string? _machineType;
    private readonly Func<int, CancellationToken, Stream> _connectChannel;
    private readonly CancellationToken _cancellationToken;
    private readonly MultifdSendChannels _channels;
    private readonly PagePayloadDecoder _decoder = new();
    private byte[][] _blockNames = [];
    private MigrationStreamReader? _reader;
    private ulong[][] _queued = []; // a bit per page sent since the last barrier, per block
    private string[] _blockLabels = [];
    private readonly bool _sourceIsMultifd;
    private bool? _perRound;
    private bool? _configuredPerRound;
    private bool _sentSinceBarrier;
    private bool _submitPending;

    /// <summary>
    /// A target that writes the main stream with <paramref name="writer"/> (non-page items through
    /// <paramref name="streamItems"/>, the re-encoder) and the pages on <paramref name="parameters"/>' multifd-channels channels
    /// (with its multifd-compression and level, and <paramref name="uuid"/> in each hello), each opened by
    /// <paramref name="connectChannel"/> once the block list is written; <paramref name="machineType"/> is the destination's
    /// (null: the source's framing, else for a single-stream source (<paramref name="sourceIsMultifd"/> false) the type the
    /// stream's configuration names).
    /// </summary>
    public MultifdOutputTarget(
        IPageTarget streamItems,
        MigrationStreamWriter writer,
        TranscodeResult result,
        MigrationParameters parameters,
        Guid uuid,
        string? machineType,
        Func<int, CancellationToken, Stream> connectChannel,
        bool sourceIsMultifd,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(streamItems);
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(connectChannel);
        _streamItems = streamItems;
        _writer = writer;
        _result = result;
        _channelCount = parameters.MultifdChannels;
        _compression = parameters.MultifdCompression;
        _uuid = uuid.ToByteArray(bigEndian: true);
        _machineType = machineType;
        _connectChannel = connectChannel;
        _sourceIsMultifd = sourceIsMultifd;
        _cancellationToken = cancellationToken;
        if (machineType is not null)
        {
            _perRound = QemuMachineType.SyncsMultifdPerRound(machineType);
        }

        _channels = new MultifdSendChannels(_compression, parameters.MultifdLevel, "multifd channel {0} to the destination", Reap, cancellationToken);
    }

    /// <summary>Whether the barrier is written per round (the 0x200 record after each), once known.</summary>
    public bool? SyncsPerRound => _perRound;

    /// <summary>Packets written on every channel (SYNC packets included).</summary>
    public long Packets => _channels.Packets;

    /// <summary>Bytes written on the channel connections (hellos and packets), after <see cref="Finish"/>.</summary>
    public long ChannelBytes { get; private set; }

    /// <inheritdoc />
    public bool TakesChannelPages => true;

    /// <inheritdoc />
    public void OnStreamItem(MigrationStreamReader reader)
    {
        if (reader.Kind == MigrationItemKind.Configuration && reader.MachineType is { } type)
        {
            // A QEMU destination must run the source's machine type: its framing is the one that type names.
            _configuredPerRound = QemuMachineType.SyncsMultifdPerRound(type);
        }

        _streamItems.OnStreamItem(reader);
    }

    /// <inheritdoc />
    public void OnBlockList(MigrationStreamReader reader)
    {
        _streamItems.OnBlockList(reader);
        _reader = reader;
        IReadOnlyList<RamBlockInfo> blocks = reader.Blocks;
        _blockNames = new byte[blocks.Count][];
        _blockLabels = new string[blocks.Count];
        for (int i = 0; i < blocks.Count; i++)
        {
            // A name a packet cannot carry is refused here, naming the block, before any channel is opened.
            _blockNames[i] = MultifdFormat.EncodeBlockName(blocks[i].Name);
            _blockLabels[i] = blocks[i].Name;
        }

        _queued = new ulong[blocks.Count][];
        for (int i = 0; i < blocks.Count; i++)
        {
            _queued[i] = PageBits.Allocate(blocks[i].Length / PageSizes.PageSize);
        }

        if (_channels.Count == 0)
        {
            // As QEMU: the main connection's header and configuration first, then the channels, each opening with its hello.
            _writer.Flush();
            ConnectChannels();
        }
    }

    /// <inheritdoc />
    public void OnZeroPage(int block, long offset)
    {
        Queue(block, offset, -1);
        _writer.WriteZeroPage(block, offset);

        // A ZERO record is ordered against a channel's later copy of the page only by a barrier, as a packet is.
        _sentSinceBarrier = true;
        _result.ZeroPages++;
    }

    /// <inheritdoc />
    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page)
    {
        Queue(block, offset, -1);
        page.CopyTo(Slot(block, offset));
    }

    /// <inheritdoc />
    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
    {
        Queue(block, offset, streamOffset);
        Span<byte> slot = Slot(block, offset);
        _result.DecompressedPages++;
        _decoder.Decode(method, payload, slot, _blockLabels[block], offset, streamOffset);
    }

    /// <inheritdoc />
    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded, long streamOffset)
        => throw new MigrationStreamException(
            streamOffset,
            "an XBZRLE page record: multifd carries no XBZRLE deltas (QEMU refuses xbzrle with multifd), so this stream cannot "
            + "go on on multifd channels; relay it as one stream (without --to-multifd-channels)");

    /// <inheritdoc />
    public void Settle()
    {
        // Pages are copied on the loop's thread when they are handed over: nothing runs behind the loop's back.
    }

    /// <inheritdoc />
    public void OnChannelPages(IChannelPages channels, long streamOffset)
    {
        // Within a round each page is sent once; the barrier after these keeps a later copy behind this one.
        int count = channels.PageCount;
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> page = channels.Page(i, out int block, out long offset);
            Queue(block, offset, streamOffset);
            page.CopyTo(Slot(block, offset));
        }
    }

    /// <inheritdoc />
    public void OnMultifdFlush(long streamOffset)
    {
        if (_perRound is null)
        {
            // A 0x200 before the first EOS: the source syncs per round (QEMU 8.1+ on its own machine type).
            _perRound = true;
        }
        else if (_perRound == false)
        {
            throw new MigrationStreamException(
                streamOffset,
                $"a MULTIFD_FLUSH record (0x200): the source syncs multifd per round (a QEMU 8.1+ machine type), but the destination's "
                + $"machine type {_machineType ?? "(the stream's configuration)"} syncs per section, and a page sent again after this record "
                + "could reach it out of order; give --machine-type the machine type both QEMUs run");
        }

        if (_sentSinceBarrier)
        {
            Barrier();
        }
    }

    /// <inheritdoc />
    public void OnEndOfSection(long streamOffset)
    {
        // The setup section ended without a 0x200: a multifd source syncs per section; a single stream does not say, and its
        // configuration's machine type is the destination's.
        _perRound ??= !_sourceIsMultifd && _configuredPerRound == true;
        Barrier();
        _writer.WriteEndOfSection();
        _writer.Flush();
    }

    /// <summary>After the whole stream is written: every channel ends its connection (over TLS with a close_notify) and its thread is joined.</summary>
    public void Finish()
    {
        _channels.ThrowIfFailed();
        ChannelBytes = _channels.Finish();
    }

    /// <summary>Stops and joins every channel thread and closes its connection, whatever happened.</summary>
    public void Dispose()
    {
        _channels.Dispose();
        _decoder.Dispose();
    }

    private void ConnectChannels()
    {
        for (int i = 0; i < _channelCount; i++)
        {
            Stream stream;
            try
            {
                stream = _connectChannel(i, _cancellationToken);
            }
            catch (Exception e) when (e is IOException or EngineException && !_cancellationToken.IsCancellationRequested)
            {
                throw new MigrationException($"multifd channel {i} to the destination could not be opened: {e.Message}", e);
            }

            try
            {
                _channels.Add(i, stream, _uuid);
            }
            catch (IOException e)
            {
                // The hello is written on this thread: a destination that closed the channel at once fails it here.
                throw new MigrationException($"multifd channel {i} to the destination failed: the connection failed: {e.Message}", e);
            }
        }
    }

    /// <summary>The 4096 bytes of the next page of <paramref name="block"/> in the batch being filled; a full batch is sent.</summary>
    private Span<byte> Slot(int block, long offset)
    {
        if (_channels.Count == 0)
        {
            throw new InvalidOperationException("a page before the block list");
        }

        MultifdBatch batch = CurrentBatch(block);
        int index = batch.Count;
        batch.Offsets[index] = offset;
        batch.Count = index + 1;
        Span<byte> slot = batch.Pages.AsSpan(index * PageSizes.PageSize, PageSizes.PageSize);
        if (batch.Count == MultifdFormat.PagesPerPacket)
        {
            // Submitted after the caller has filled the slot: the next page (or the barrier) sends it.
            _submitPending = true;
        }

        _sentSinceBarrier = true;
        return slot;
    }

    private MultifdBatch CurrentBatch(int block)
    {
        if (!_submitPending && _channels.Current is { } current && current.BlockIndex == block)
        {
            return current;
        }

        _submitPending = false;
        MultifdBatch batch = _channels.Begin(block, _blockNames[block]);
        batch.Pages ??= new byte[MultifdFormat.PacketDataSize];
        return batch;
    }

    /// <summary>
    /// The barrier (QEMU's <c>multifd_send_sync_main</c>): the partial batch goes out, every batch is reaped, one SYNC packet
    /// per channel is written and waited for; per round, the 0x200 record follows on the main stream.
    /// </summary>
    private void Barrier()
    {
        _submitPending = false;
        _channels.Barrier();
        if (_perRound == true)
        {
            _writer.WriteMultifdFlush();
        }

        foreach (ulong[] bits in _queued)
        {
            Array.Clear(bits);
        }

        _sentSinceBarrier = false;
    }

    /// <summary>
    /// Marks the page as sent since the last barrier. A page sent twice between two barriers (QEMU and Engine never do:
    /// each page once per section, once per round) could reach the destination's channels out of order, so a barrier is
    /// written before the second copy where the destination's framing allows one (per round), and the stream is refused
    /// where it does not.
    /// </summary>
    private void Queue(int block, long offset, long streamOffset)
    {
        long page = offset / PageSizes.PageSize;
        if (!PageBits.TrySet(_queued[block], page))
        {
            if (_perRound != true)
            {
                throw new MigrationStreamException(
                    streamOffset >= 0 ? streamOffset : _reader?.ItemOffset ?? 0,
                    $"block '{_blockLabels[block]}' page 0x{offset:X} is sent twice before the next barrier, and a multifd destination that syncs "
                    + "per section (machine type up to 8.0) could apply the two copies out of order");
            }

            Barrier();
            PageBits.Word(_queued[block], page) |= PageBits.Bit(page);
        }
    }

    /// <summary>Writes a finished batch's zero pages as ZERO records on the main stream and counts its packet's pages.</summary>
    private void Reap(MultifdBatch batch)
    {
        for (int i = 0; i < batch.ZeroCount; i++)
        {
            _writer.WriteZeroPage(batch.BlockIndex, batch.ZeroOffsets[i]);
        }

        _result.ZeroPages += batch.ZeroCount;
        if (_compression == CompressMethod.None)
        {
            _result.RawPages += batch.NormalPages;
        }
        else
        {
            _result.CompressedPages += batch.NormalPages;
        }
    }
}
