using System.Net.Sockets;
using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Multifd;

/// <summary>
/// The source of a live migration in QEMU 7.2's multifd format: the main connection carries the stream (header,
/// configuration, RAM sections, ZERO records, EOS) and N channel connections carry the other pages in packets of up to 128,
/// each channel compressing with its own stream kept for the whole migration.
/// </summary>
/// <remarks>
/// <para>
/// Pre-copy as <see cref="SourceMigration"/> does it (iterations of PART sections until what is dirty fits in
/// downtime-limit, then the guest paused and the rest sent in END), with QEMU 7.2's multifd rules: pages of one block are
/// gathered into batches of 128 and handed to the channels round-robin (a block change or a full batch sends it); before
/// every EOS the migration thread sends a SYNC packet on every channel and waits until each is written.
/// </para>
/// <para>
/// Design: the migration thread (the caller) owns the bitmaps, the writer, the statistics and the rate limiter, as in
/// <see cref="SourceMigration"/>. Zero detection runs on the channel threads, which copy each page first; the zero pages a
/// channel finds come back in its batch and the migration thread writes their ZERO records on the main channel before the
/// section's EOS. Within a section each page is sent once (the bitmap is only synced between sections), and the SYNC
/// barrier orders sections, so the destination ends with every page's last copy whichever connection carried it.
/// </para>
/// </remarks>
public sealed class MultifdSource
{
    private const uint RamSectionId = 2;

    private readonly MigrationGuest _guest;
    private readonly MigrationParameters _parameters;
    private readonly MultifdParameters _multifd;
    private readonly SourceMigrationOptions _options;
    private readonly MigrationStatistics _statistics;
    private readonly DirtyBitmap[] _bitmaps;
    private readonly RamBlock[] _blocks;
    private readonly byte[][] _blockNames;
    private readonly SemaphoreSlim _progress = new(0);
    private MultifdSendChannel[] _channels = [];
    private MultifdBatch? _current;
    private int _currentChannel;
    private int _nextChannel;
    private long _cursorBlock;
    private long _cursorPage;
    private long _packets;

    /// <summary>Prepares a migration of <paramref name="guest"/>; both parameter sets are copied.</summary>
    public MultifdSource(MigrationGuest guest, MigrationParameters parameters, MultifdParameters multifd, SourceMigrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(guest);
        ArgumentNullException.ThrowIfNull(parameters);
        ArgumentNullException.ThrowIfNull(multifd);
        _guest = guest;
        _parameters = parameters.Clone();
        _multifd = multifd.Clone();
        _options = options ?? new SourceMigrationOptions();
        _statistics = new MigrationStatistics((long)Math.Max(1, _options.RatePeriod.TotalMilliseconds));
        _blocks = guest.Memory.Blocks.ToArray();
        _blockNames = _blocks.Select(b => MultifdFormat.EncodeBlockName(b.Name)).ToArray();
        _bitmaps = _blocks.Select(b => new DirtyBitmap(b.PageCount)).ToArray();
    }

    /// <summary>
    /// Whether a connected destination is an Engine that answers (<see cref="MigrationReply"/>); false for a QEMU
    /// destination, which sends nothing: the source then ends once the stream is written and has no checksums to compare.
    /// </summary>
    public bool ExpectReply { get; init; } = true;

    /// <summary>The live statistics.</summary>
    public MigrationStatistics Statistics => _statistics;

    /// <summary>Packets written on every channel so far (SYNC packets included).</summary>
    public long Packets => _packets;

    /// <summary>Bytes written on the channel connections (hellos and packets), after <see cref="Run"/>.</summary>
    public long ChannelBytes { get; private set; }

    private long NowMs => (long)_options.Time.GetElapsedTime(0).TotalMilliseconds;

    /// <summary>
    /// Migrates over <paramref name="main"/>, with <paramref name="connectChannel"/> opening each of the
    /// <c>multifd-channels</c> channel connections (called on this thread, in order, after the main one). With a
    /// <see cref="NetworkStream"/> to an Engine destination the source waits for its reply, as <see cref="SourceMigration"/>
    /// does. Throws <see cref="MigrationException"/> on failure, after resuming the guest's writers; every channel thread has
    /// stopped by then.
    /// </summary>
    public MigrationResult Run(Stream main, Func<int, CancellationToken, Stream> connectChannel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(main);
        ArgumentNullException.ThrowIfNull(connectChannel);
        var autoConverge = new AutoConverge(_parameters);
        var limiter = new RateLimiter(_parameters.MaxBandwidth, _options.Time);
        using var watch = new DestinationWatch(main, _options.Time, cancellationToken);
        var packetCounter = new StrongBox<long>();
        bool paused = false;
        var channels = new List<MultifdSendChannel>(_multifd.Channels);
        using CancellationTokenRegistration stopChannels = cancellationToken.UnsafeRegister(static s => ((SemaphoreSlim)s!).Release(), _progress);
        try
        {
            _statistics.Start(NowMs, _guest.Memory.TotalSize, _parameters.DowntimeLimit);
            var writer = new MigrationStreamWriter(main, leaveOpen: true);
            writer.WriteFileHeader();
            writer.WriteConfiguration(_options.MachineType);
            writer.Flush();

            // As QEMU: the main connection first, then the channels, each opening with its hello.
            for (int i = 0; i < _multifd.Channels; i++)
            {
                Stream stream = ConnectChannel(connectChannel, i, cancellationToken);
                var channel = new MultifdSendChannel(i, stream, _multifd, _progress, packetCounter);
                channels.Add(channel);
                channel.Start(_multifd.Uuid);
            }

            _channels = channels.ToArray();
            long before = writer.Position;
            writer.WriteRamSectionStart(RamSectionId);
            writer.WriteRamBlockList(_blocks.Select(b => new RamBlockInfo(b.Name, b.Size)).ToArray());
            SyncChannels(writer, limiter, cancellationToken);
            writer.EndRamSection();
            writer.Flush();
            Account(limiter, writer.Position - before);
            for (int i = 0; i < _blocks.Length; i++)
            {
                _guest.DirtyLog.SyncInto(i, _bitmaps[i]);
                _bitmaps[i].SetAll();
            }

            _statistics.BitmapSynced(NowMs, 0);
            _statistics.SetRemaining(DirtyBytes);
            _statistics.SetupDone(NowMs);

            while (true)
            {
                cancellationToken.ThrowIfCancellationRequested();
                ThrowIfWritersFailed();
                watch.ThrowIfDestinationSpoke();
                _statistics.UpdateCounters(NowMs);
                long pending = DirtyBytes;
                if (pending < _statistics.ThresholdBytes || pending == 0)
                {
                    Sync(autoConverge);
                    pending = DirtyBytes;
                }

                if (pending == 0 || pending < _statistics.ThresholdBytes)
                {
                    break;
                }

                writer.WriteSectionHeader(SectionType.Part, RamSectionId);
                Account(limiter, 5);
                SendDirtyPages(writer, limiter, watch, limited: true, cancellationToken);
                long end = writer.Position;
                writer.EndRamSection();
                writer.Flush();
                Account(limiter, writer.Position - end);
                _statistics.SetRemaining(DirtyBytes);
                _options.Progress?.Invoke(_statistics.Snapshot(NowMs));
                while (limiter.IsOverLimit)
                {
                    watch.Sleep(limiter.TimeUntilWindowEnd, cancellationToken);
                }
            }

            _statistics.GuestPaused(NowMs);
            _guest.Control?.Pause();
            paused = true;
            Sync(autoConverge);
            limiter.SetBandwidth(0);
            writer.WriteSectionHeader(SectionType.End, RamSectionId);
            Account(limiter, 5);
            SendDirtyPages(writer, limiter, watch, limited: false, cancellationToken);
            long last = writer.Position;
            writer.EndRamSection();
            writer.WriteEof();
            writer.Flush();
            Account(limiter, writer.Position - last);
            long streamBytes = writer.Position;
            foreach (MultifdSendChannel channel in _channels)
            {
                channel.Stop(graceful: true);
                ChannelBytes += channel.BytesSent;
            }

            IReadOnlyList<BlockChecksum>? destination = null;
            if (TlsTransport.GetNetworkStream(main) is NetworkStream network)
            {
                // End our half (over TLS: close_notify, then FIN); an Engine destination then replies, a QEMU one does not.
                TlsTransport.ShutdownSend(main, _options.ReplyTimeout);
                if (ExpectReply)
                {
                    network.ReadTimeout = (int)Math.Clamp(_options.ReplyTimeout.TotalMilliseconds, 1, int.MaxValue);
                    Stream reply = watch.ReplyStream(main, _options.ReplyTimeout);
                    MigrationReply.ExpectReceived(MigrationReply.ReadLine(reply, "the destination's confirmation"));
                    _statistics.Complete(NowMs);
                    destination = MigrationReply.ParseChecksums(MigrationReply.ReadLine(reply, "the destination's checksums"));
                }
                else
                {
                    _statistics.Complete(NowMs);
                }
            }
            else
            {
                main.Flush();
                _statistics.Complete(NowMs);
            }

            IReadOnlyList<BlockChecksum> source = MemoryChecksum.Of(_guest.Memory);
            return new MigrationResult
            {
                Info = _statistics.Snapshot(NowMs),
                SourceChecksums = source,
                DestinationChecksums = destination,
                StreamBytes = streamBytes + ChannelBytes,
            };
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested)
        {
            _statistics.Fail(NowMs, "cancelled", cancelled: true);
            ResumeIfPaused(paused);
            throw e as OperationCanceledException ?? new OperationCanceledException("the migration was cancelled", e, cancellationToken);
        }
        catch (Exception e)
        {
            // A channel's send fails with a bare "broken pipe" when the destination refused or gave up; its error line on
            // the main connection (over TLS also its close or alert) is the reason.
            // (A refusal of this source's own, such as a channel's TLS check of the destination, is its own reason.)
            string? explained = e is MigrationException or EngineException { Kind: EngineErrorKind.Security } ? null : watch.ExplainFailure(TimeSpan.FromSeconds(1));
            string reason = explained ?? (e is MigrationException ? e.Message : Describe(e));
            _statistics.Fail(NowMs, reason);
            ResumeIfPaused(paused);
            throw e as MigrationException ?? new MigrationException(explained ?? $"multifd migration failed: {reason}", e);
        }
        finally
        {
            // Every channel thread is stopped and joined, whatever happened.
            foreach (MultifdSendChannel channel in channels)
            {
                channel.Dispose();
            }

            _channels = [];
            _current = null;
        }
    }

    /// <summary>Opens channel <paramref name="id"/>'s connection; a failure (TCP or TLS) names the channel.</summary>
    private static Stream ConnectChannel(Func<int, CancellationToken, Stream> connect, int id, CancellationToken cancellationToken)
    {
        try
        {
            return connect(id, cancellationToken);
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

    private long DirtyBytes
    {
        get
        {
            long pages = 0;
            foreach (DirtyBitmap bitmap in _bitmaps)
            {
                pages += bitmap.DirtyCount;
            }

            return pages * PageSizes.PageSize;
        }
    }

    private static string Describe(Exception e)
    {
        Exception inner = e;
        while (inner is IOException { InnerException: not null } && inner.InnerException is not SocketException)
        {
            inner = inner.InnerException!;
        }

        return inner.Message;
    }

    private void Account(RateLimiter limiter, long bytes)
    {
        _statistics.AddOverhead(bytes);
        limiter.Record(bytes);
    }

    private void ResumeIfPaused(bool paused)
    {
        if (paused)
        {
            _guest.Control?.Resume();
        }
    }

    private void ThrowIfWritersFailed()
    {
        if (_guest.Control?.Failure is Exception failure)
        {
            throw new InvalidOperationException($"the guest failed: {failure.Message}", failure);
        }
    }

    private void Sync(AutoConverge autoConverge)
    {
        long added = 0;
        for (int i = 0; i < _blocks.Length; i++)
        {
            added += _guest.DirtyLog.SyncInto(i, _bitmaps[i]);
        }

        (long BytesSent, long BytesDirtied)? period = _statistics.BitmapSynced(NowMs, added);
        if (period is { } p && autoConverge.EndPeriod(p.BytesSent, p.BytesDirtied))
        {
            _guest.Control?.Throttle(autoConverge.ThrottlePercent / 100.0);

            _statistics.SetThrottle(autoConverge.ThrottlePercent);
        }

        _statistics.SetRemaining(DirtyBytes);
    }

    /// <summary>
    /// Hands dirty pages to the channels until the bitmaps are empty or (when <paramref name="limited"/>) the window is used
    /// up or 50 ms have passed; then, as QEMU's <c>multifd_send_sync_main</c>, sends the partial batch, waits for every
    /// channel and sends a SYNC packet on each. Every zero page found is written on the main channel before it returns.
    /// </summary>
    private void SendDirtyPages(MigrationStreamWriter writer, RateLimiter limiter, DestinationWatch watch, bool limited, CancellationToken cancellationToken)
    {
        long started = NowMs;
        int sinceCheck = 0;
        while (FindNextDirty(out int blockIndex, out long page))
        {
            _bitmaps[blockIndex].TestAndClear(page);
            MultifdBatch batch = CurrentBatch(blockIndex, writer, limiter, cancellationToken);
            batch.Offsets[batch.Count++] = page * PageSizes.PageSize;
            if (batch.Count == MultifdFormat.PagesPerPacket)
            {
                SubmitCurrent();
            }

            if (limited && limiter.IsOverLimit)
            {
                break;
            }

            if (++sinceCheck == 64)
            {
                sinceCheck = 0;
                cancellationToken.ThrowIfCancellationRequested();
                watch.ThrowIfDestinationSpoke();
                ThrowIfChannelFailed();
                if (limited && NowMs - started >= SourceMigration.MaxIterationMs)
                {
                    break;
                }
            }
        }

        SyncChannels(writer, limiter, cancellationToken);
    }

    /// <summary>The batch being filled, for a page of block <paramref name="blockIndex"/>: a block change sends the current one.</summary>
    private MultifdBatch CurrentBatch(int blockIndex, MigrationStreamWriter writer, RateLimiter limiter, CancellationToken cancellationToken)
    {
        if (_current is { } current)
        {
            if (current.BlockIndex == blockIndex)
            {
                return current;
            }

            SubmitCurrent();
        }

        MultifdBatch batch = AcquireBatch(writer, limiter, cancellationToken, out _currentChannel);
        batch.Block = _blocks[blockIndex];
        batch.BlockIndex = blockIndex;
        batch.BlockName = _blockNames[blockIndex];
        _current = batch;
        return batch;
    }

    private void SubmitCurrent()
    {
        if (_current is not null)
        {
            _channels[_currentChannel].Submit();
            _packets++;
            _current = null;
        }
    }

    /// <summary>A free batch on the next channel that has one, round-robin (QEMU's <c>multifd_send_pages</c>); waits when none has.</summary>
    private MultifdBatch AcquireBatch(MigrationStreamWriter writer, RateLimiter limiter, CancellationToken cancellationToken, out int channelIndex)
    {
        while (true)
        {
            for (int step = 0; step < _channels.Length; step++)
            {
                int c = (_nextChannel + step) % _channels.Length;
                MultifdBatch next = _channels[c].Next;

                // Acquire: pairs with the channel's release of Done.
                int state = Volatile.Read(ref next.State);
                if (state == MultifdBatch.Submitted)
                {
                    continue;
                }

                if (state == MultifdBatch.Done)
                {
                    Reap(next, writer, limiter);
                }

                _nextChannel = (c + 1) % _channels.Length;
                channelIndex = c;
                return next;
            }

            WaitForProgress(cancellationToken);
        }
    }

    /// <summary>Writes what a finished batch found: ZERO records for its zero pages, statistics and bytes for its packet.</summary>
    private void Reap(MultifdBatch batch, MigrationStreamWriter writer, RateLimiter limiter)
    {
        long before = writer.Position;
        for (int i = 0; i < batch.ZeroCount; i++)
        {
            long recordStart = writer.Position;
            writer.WriteZeroPage(batch.BlockIndex, batch.ZeroOffsets[i]);
            _statistics.AddZeroPage(writer.Position - recordStart);
        }

        limiter.Record(writer.Position - before);
        int normal = batch.NormalPages;
        for (int i = 0; i < normal; i++)
        {
            // The packet's bytes are counted with its first page; the payload is spread over its pages.
            long bytes = i == 0 ? batch.WireBytes : 0;
            if (_multifd.Compression == CompressMethod.None)
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

        limiter.Record(batch.WireBytes);
        batch.Reset();
        Volatile.Write(ref batch.State, MultifdBatch.Free);
    }

    /// <summary>
    /// QEMU's <c>multifd_send_sync_main</c>: the partial batch goes out, every batch is reaped (its zero pages written on the
    /// main channel), then one SYNC packet per channel, and the migration thread waits until each is written.
    /// </summary>
    private void SyncChannels(MigrationStreamWriter writer, RateLimiter limiter, CancellationToken cancellationToken)
    {
        SubmitCurrent();
        DrainAll(writer, limiter, cancellationToken);
        foreach (MultifdSendChannel channel in _channels)
        {
            MultifdBatch sync = channel.Next;
            sync.Sync = true;
            channel.Submit();
            _packets++;
        }

        DrainAll(writer, limiter, cancellationToken);
    }

    private void DrainAll(MigrationStreamWriter writer, RateLimiter limiter, CancellationToken cancellationToken)
    {
        foreach (MultifdSendChannel channel in _channels)
        {
            foreach (MultifdBatch batch in channel.Slots)
            {
                while (Volatile.Read(ref batch.State) == MultifdBatch.Submitted)
                {
                    WaitForProgress(cancellationToken);
                }

                if (Volatile.Read(ref batch.State) == MultifdBatch.Done)
                {
                    Reap(batch, writer, limiter);
                }
            }
        }
    }

    private void WaitForProgress(CancellationToken cancellationToken)
    {
        ThrowIfChannelFailed();
        cancellationToken.ThrowIfCancellationRequested();

        // Bounded, so a failure or a cancellation is noticed even if no release comes; a release ends it at once.
        _progress.Wait(100);
        ThrowIfChannelFailed();
        cancellationToken.ThrowIfCancellationRequested();
    }

    private void ThrowIfChannelFailed()
    {
        foreach (MultifdSendChannel channel in _channels)
        {
            if (channel.Failure is Exception failure)
            {
                throw new MigrationException($"multifd channel {channel.Id} failed: {failure.Message}", failure);
            }
        }
    }

    private bool FindNextDirty(out int blockIndex, out long page)
    {
        for (int step = 0; step <= _blocks.Length; step++)
        {
            int b = (int)_cursorBlock;
            DirtyBitmap bitmap = _bitmaps[b];
            if (bitmap.DirtyCount > 0)
            {
                long found = bitmap.FindNextDirty(_cursorPage);
                if (found < bitmap.PageCount)
                {
                    blockIndex = b;
                    page = found;
                    _cursorPage = found + 1;
                    return true;
                }
            }

            _cursorBlock = (_cursorBlock + 1) % _blocks.Length;
            _cursorPage = 0;
        }

        blockIndex = -1;
        page = -1;
        return false;
    }
}
