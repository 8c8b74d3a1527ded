using Engine.Diagnostics;
using Engine.Pipeline;
using Engine.Wire;

namespace Engine.Receive;

/// <summary>
/// The one receive loop: drives a <see cref="MigrationStreamReader"/> and hands every item to an <see cref="IPageTarget"/>,
/// with a multifd source's channels (<see cref="IChannelPages"/>) as a second page source whose barrier lives here. Every
/// destination path uses it: <c>incoming</c> (single stream and multifd), <c>extract</c>, <c>transcode</c>, the relay and
/// <c>--save-stream</c>, so counts, metrics, progress and errors are the same in every mode.
/// </summary>
/// <remarks>
/// <para>
/// The multifd barrier (QEMU's <c>multifd_recv_sync_main</c>): the target settles, every channel's SYNC is awaited, a target
/// that takes the channels' pages gets them, then the channels are released. Where it falls depends on the source
/// (<see cref="MultifdSyncMode"/>): at every EOS (per section), or at every RAM_SAVE_FLAG_MULTIFD_FLUSH record (per round,
/// QEMU 8.1+ machine types), told by whether a 0x200 comes before the first EOS. In per-round mode the last pages come
/// after the last barrier and QEMU 9.1/9.2 leave an unmatched SYNC at complete (10.0 none), so at RAM's end every channel
/// is drained to the end of its connection (<see cref="IChannelPages.Drain"/>): at the END section's EOS for a target that
/// takes the channels' pages (they go before that EOS), else in <see cref="Finish"/>, after the caller read the main
/// stream's tail.
/// </para>
/// <para>
/// Runs on the calling thread; nothing is allocated per page. Counts and the published metrics include the channels' pages
/// and bytes.
/// </para>
/// </remarks>
internal sealed class ReceiveLoop
{
    private readonly MigrationStreamReader _reader;
    private readonly IPageTarget _target;
    private readonly IChannelPages? _channels;
    private MultifdSyncMode _mode;
    private bool _drained;

    /// <summary>A loop from <paramref name="reader"/> into <paramref name="target"/>, with <paramref name="channels"/> when the source is multifd.</summary>
    public ReceiveLoop(MigrationStreamReader reader, IPageTarget target, IChannelPages? channels = null)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(target);
        _reader = reader;
        _target = target;
        _channels = channels;
    }

    /// <summary>Live metrics, published at every EOS and by <see cref="PublishMetrics"/>; null for none.</summary>
    public DestinationTracker? Metrics { get; init; }

    /// <summary>Told the main stream's position at every EOS, after the target handled it; null for none.</summary>
    public IProgress<long>? Progress { get; init; }

    /// <summary>Where the barrier of the multifd source falls, once the stream told.</summary>
    public MultifdSyncMode SyncMode => _mode;

    /// <summary>ZERO records on the main stream.</summary>
    public long ZeroPages { get; private set; }

    /// <summary>PAGE records on the main stream.</summary>
    public long RawPages { get; private set; }

    /// <summary>COMPRESS_PAGE records on the main stream.</summary>
    public long CompressedPages { get; private set; }

    /// <summary>XBZRLE records.</summary>
    public long XbzrlePages { get; private set; }

    /// <summary>EOS records.</summary>
    public long Sections { get; private set; }

    /// <summary>Zero pages of every source: the main stream's ZERO records and the zero pages inside the channels' packets (QEMU 9.0+).</summary>
    public long ZeroPagesTotal => ZeroPages + (_channels?.ZeroPages ?? 0);

    /// <summary>Normal pages of every source: the main stream's raw pages and, when they are not compressed, the channels'.</summary>
    public long NormalPagesTotal => RawPages + (_channels is { Compressed: false } c ? c.Pages : 0);

    /// <summary>Compressed pages of every source: the main stream's and, when they are compressed, the channels'.</summary>
    public long CompressedPagesTotal => CompressedPages + (_channels is { Compressed: true } c ? c.Pages : 0);

    /// <summary>Bytes read from the main stream and every channel.</summary>
    public long BytesTotal => _reader.Position + (_channels?.BytesRead ?? 0);

    /// <summary>
    /// Reads until the reader stops (after RAM's END with <see cref="MigrationStreamReaderOptions.StopAfterRamEnd"/>, else at
    /// the stream's end). Returns whether RAM's END was read. Throws <see cref="MigrationStreamException"/> for bad input.
    /// </summary>
    public bool Run()
    {
        try
        {
            return ReadAll();
        }
        catch (PageException e) when (e.StreamOffset is long at)
        {
            // A decompress worker (Pipeline, below the stream format) found a payload of the stream that does not decode.
            throw new MigrationStreamException(at, e.Reason, e);
        }
    }

    private bool ReadAll()
    {
        MigrationStreamReader reader = _reader;
        IPageTarget target = _target;
        while (reader.Read())
        {
            switch (reader.Kind)
            {
                case MigrationItemKind.ZeroPage:
                    ZeroPages++;
                    target.OnZeroPage(reader.BlockIndex, reader.PageOffset);
                    break;
                case MigrationItemKind.RawPage:
                    RawPages++;
                    target.OnRawPage(reader.BlockIndex, reader.PageOffset, reader.Payload);
                    break;
                case MigrationItemKind.CompressedPage:
                    ThrowIfMultifd(reader, "compressed");
                    CompressedPages++;
                    target.OnCompressedPage(reader.BlockIndex, reader.PageOffset, reader.PayloadMethod, reader.Payload, reader.PayloadOffset);
                    break;
                case MigrationItemKind.XbzrlePage:
                    ThrowIfMultifd(reader, "XBZRLE");
                    XbzrlePages++;
                    target.OnXbzrlePage(reader.BlockIndex, reader.PageOffset, reader.Payload, reader.PayloadOffset);
                    break;
                case MigrationItemKind.RamBlockList:
                    target.OnBlockList(reader);
                    break;
                case MigrationItemKind.MultifdFlush:
                    OnMultifdFlush(reader.ItemOffset);
                    break;
                case MigrationItemKind.EndOfSection:
                    OnEndOfSection(reader.ItemOffset, last: reader.SectionType == SectionType.End);
                    break;
                default:
                    target.OnStreamItem(reader);
                    break;
            }
        }

        return reader.IsRamComplete;
    }

    /// <summary>
    /// At the end, after the caller has read what it keeps of the main stream: in per-round mode drains every channel to
    /// its end (when the END section's EOS did not already), so guest RAM is complete; then publishes the metrics.
    /// </summary>
    public void Finish()
    {
        if (_channels is not null && _mode == MultifdSyncMode.PerRound && !_drained)
        {
            _channels.Drain(_reader.Position);
            _drained = true;
        }

        PublishMetrics();
    }

    /// <summary>Publishes the counts so far to <see cref="Metrics"/>.</summary>
    public void PublishMetrics() => Metrics?.Publish(ZeroPagesTotal, NormalPagesTotal, CompressedPagesTotal, BytesTotal);

    private void OnMultifdFlush(long offset)
    {
        if (_channels is not null)
        {
            if (_mode == MultifdSyncMode.PerSection)
            {
                throw new MigrationStreamException(
                    offset,
                    "a MULTIFD_FLUSH record (0x200) after the setup section synced its channels at its EOS: the source mixes per-section "
                    + "and per-round multifd sync (its multifd-flush-after-each-section changed during the migration)");
            }

            _mode = MultifdSyncMode.PerRound;
            Barrier(offset);
        }

        _target.OnMultifdFlush(offset);
    }

    private void OnEndOfSection(long offset, bool last)
    {
        Sections++;
        if (_channels is not null)
        {
            if (_mode == MultifdSyncMode.Unknown)
            {
                // The setup section ended without a 0x200: QEMU 7.2, a machine type up to 8.0, or Engine.
                _mode = MultifdSyncMode.PerSection;
            }

            if (_mode == MultifdSyncMode.PerSection)
            {
                Barrier(offset);
            }
            else if (last && _target.TakesChannelPages)
            {
                // The pages after the last barrier go before RAM's last EOS: wait until every channel has ended.
                _target.Settle();
                _channels.Drain(offset);
                _drained = true;
                _target.OnChannelPages(_channels, offset);
                _channels.ClearPages();
            }
        }

        // QEMU's wait_for_decompress_done: errors surface at the section that caused them.
        _target.Settle();
        _target.OnEndOfSection(offset);
        PublishMetrics();
        Progress?.Report(_reader.Position);
    }

    private void Barrier(long offset)
    {
        IChannelPages channels = _channels!;
        _target.Settle();
        channels.WaitForBarrier(offset);
        if (_target.TakesChannelPages)
        {
            _target.OnChannelPages(channels, offset);
            channels.ClearPages();
        }

        channels.Release();
    }

    private void ThrowIfMultifd(MigrationStreamReader reader, string what)
    {
        if (_channels is not null)
        {
            throw new MigrationStreamException(reader.ItemOffset, $"a {what} page record on the main channel: with multifd, QEMU sends pages only as ZERO records there and in packets on the channels");
        }
    }
}
