using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// multifd's pages (<see cref="MultifdSource"/>), with QEMU 7.2's rules: pages of one block are gathered into batches of
/// 128 and handed to the channels round-robin (a block change or a full batch sends it, as QEMU's
/// <c>multifd_send_pages</c>); zero pages the channels find come back and are written as ZERO records on the main stream;
/// at a section's end the partial batch goes out, and a SYNC packet on every channel is waited for (QEMU's
/// <c>multifd_send_sync_main</c>).
/// </summary>
/// <remarks>
/// Design: only the migration thread calls this (see <see cref="PageSender"/>); it owns the batches it fills and the
/// reaping of the ones a channel marked Done (see <see cref="MultifdSendChannel"/> for the ring's orderings). Zero
/// detection runs on the channel threads (in place; only pages with data are copied). Within a section each page is sent once, and the
/// SYNC barrier orders sections, so the destination ends with every page's last copy whichever connection carried it.
/// </remarks>
internal sealed class MultifdPageSender : PageSender
{
    private readonly MigrationParameters _multifd;
    private readonly byte[] _uuid;
    private readonly Func<int, CancellationToken, Stream> _connectChannel;
    private readonly MigrationStatistics _statistics;
    private readonly RamBlock[] _blocks;
    private readonly byte[][] _blockNames;
    private readonly bool _flushRecord;
    private MultifdSendChannels? _channels;
    private MigrationStreamWriter? _writer;
    private RateLimiter? _limiter;
    private long _channelBytes;

    public MultifdPageSender(PrecopyDriver driver, byte[] uuid, byte[][] blockNames, Func<int, CancellationToken, Stream> connectChannel)
    {
        _multifd = driver.Parameters;
        _uuid = uuid;
        _connectChannel = connectChannel;
        _statistics = driver.Statistics;
        _blocks = driver.Blocks;
        _blockNames = blockNames;

        // A QEMU 8.1+ destination on its own machine type syncs at the MULTIFD_FLUSH record, not at EOS.
        _flushRecord = QemuMachineType.SyncsMultifdPerRound(driver.MachineType);
    }

    /// <summary>Packets written on every channel so far (SYNC packets included).</summary>
    public long Packets => _channels?.Packets ?? 0;

    /// <summary>Bytes written on the channel connections (hellos and packets), after <see cref="Finish"/>.</summary>
    public long ChannelBytes => _channelBytes;

    /// <summary>Packets written by gather writes from guest memory (multifd none on plain TCP), after <see cref="Finish"/>.</summary>
    internal long GatherWrites => _channels?.GatherWrites ?? 0;

    /// <summary>The gather writes' short sendmsg calls, after <see cref="Finish"/>.</summary>
    internal long ShortWrites => _channels?.ShortWrites ?? 0;

    public override int MaxBatchPages => MultifdFormat.PagesPerPacket;

    public override string Name => "multifd migration";

    public override int BusyThreads => _multifd.MultifdCompression == CompressMethod.None ? 0 : _multifd.MultifdChannels;

    public override void Open(MigrationStreamWriter writer, RateLimiter limiter, CancellationToken cancellationToken)
    {
        _writer = writer;
        _limiter = limiter;
        _channels = new MultifdSendChannels(_multifd.MultifdCompression, _multifd.MultifdLevel, "multifd channel {0}", Reap, cancellationToken);

        // As QEMU: the main connection's header and configuration go out first, then the channels connect.
        writer.Flush();
        ConnectChannels(_channels, cancellationToken);
    }

    public override void SendPages(int blockIndex, ReadOnlySpan<long> offsets)
    {
        while (!offsets.IsEmpty)
        {
            MultifdBatch batch = CurrentBatch(blockIndex);
            int take = Math.Min(offsets.Length, MultifdFormat.PagesPerPacket - batch.Count);
            offsets[..take].CopyTo(batch.Offsets.AsSpan(batch.Count));
            batch.Count += take;
            offsets = offsets[take..];
            if (batch.Count == MultifdFormat.PagesPerPacket)
            {
                _channels!.SubmitCurrent();
            }
        }
    }

    /// <summary>
    /// QEMU's <c>multifd_send_sync_main</c>: the partial batch goes out, every batch is reaped (its zero pages written on the
    /// main channel), then one SYNC packet per channel, and the migration thread waits until each is written. For a machine
    /// type of QEMU 8.1 or later the MULTIFD_FLUSH record follows on the main channel (QEMU's
    /// <c>multifd_ram_flush_and_sync</c>): such a destination syncs there and ignores EOS.
    /// </summary>
    /// <remarks>
    /// The barrier stays at every section's end in both framings: Engine syncs the dirty bitmap only between sections, so a
    /// page is never in flight on two channels at once (QEMU's per-round framing needs the barrier only when a round wraps).
    /// </remarks>
    public override void EndSection()
    {
        _channels!.Barrier();
        if (_flushRecord)
        {
            long before = _writer!.Position;
            _writer.WriteMultifdFlush();
            _statistics.AddOverhead(_writer.Position - before);
            _limiter!.Record(_writer.Position - before);
        }
    }

    public override void ThrowIfFailed() => _channels?.ThrowIfFailed();

    public override long Finish()
    {
        _channelBytes += _channels?.Finish() ?? 0;
        return _channelBytes;
    }

    // Every channel thread is stopped and joined, whatever happened.
    public override void Dispose() => _channels?.Dispose();

    /// <summary>As QEMU: the main connection first (done), then the channels, each opening with its hello.</summary>
    private void ConnectChannels(MultifdSendChannels channels, CancellationToken cancellationToken)
    {
        for (int i = 0; i < _multifd.MultifdChannels; i++)
        {
            channels.Add(i, ConnectChannel(i, cancellationToken), _uuid);
        }
    }

    /// <summary>Opens channel <paramref name="id"/>'s connection (TCP, and TLS when the migration has it); a failure names the channel.</summary>
    private Stream ConnectChannel(int id, CancellationToken cancellationToken)
    {
        try
        {
            return _connectChannel(id, cancellationToken);
        }
        catch (EngineException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new EngineException(e.Kind, $"multifd channel {id}: {e.Message}", null, e);
        }
        catch (IOException e) when (!cancellationToken.IsCancellationRequested)
        {
            throw new IOException($"multifd channel {id}: {e.Message}", e);
        }
    }

    /// <summary>The batch being filled, for a page of block <paramref name="blockIndex"/>: a block change sends the current one.</summary>
    private MultifdBatch CurrentBatch(int blockIndex)
    {
        if (_channels!.Current is { } current && current.BlockIndex == blockIndex)
        {
            return current;
        }

        MultifdBatch batch = _channels.Begin(blockIndex, _blockNames[blockIndex]);
        batch.Block = _blocks[blockIndex];
        return batch;
    }

    /// <summary>Writes what a finished batch found: ZERO records for its zero pages, statistics and bytes for its packet.</summary>
    private void Reap(MultifdBatch batch)
    {
        MigrationStreamWriter writer = _writer!;
        long before = writer.Position;
        for (int i = 0; i < batch.ZeroCount; i++)
        {
            long recordStart = writer.Position;
            writer.WriteZeroPage(batch.BlockIndex, batch.ZeroOffsets[i]);
            _statistics.AddZeroPage(writer.Position - recordStart);
        }

        _limiter!.Record(writer.Position - before);
        int normal = batch.NormalPages;
        for (int i = 0; i < normal; i++)
        {
            // The packet's bytes are counted with its first page; the payload is spread over its pages.
            long bytes = i == 0 ? batch.WireBytes : 0;
            if (_multifd.MultifdCompression == CompressMethod.None)
            {
                _statistics.AddNormalPage(bytes);
            }
            else
            {
                _statistics.AddCompressedPage(bytes, (batch.PayloadBytes / normal) - sizeof(int) + (i == 0 ? batch.PayloadBytes % normal : 0));
            }
        }

        if (normal == 0 && batch.WireBytes > 0)
        {
            _statistics.AddOverhead(batch.WireBytes);
        }

        _limiter.Record(batch.WireBytes);
    }
}
