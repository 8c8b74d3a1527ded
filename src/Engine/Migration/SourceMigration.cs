using System.Net.Sockets;
using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// The source side of a live migration: pre-copy as QEMU 7.2 does it (migration/ram.c, migration.c), through the
/// <see cref="CompressionEngine"/> and the <see cref="MigrationStreamWriter"/>.
/// </summary>
/// <remarks>
/// <para>
/// Setup: the stream header, the RAM block list (START section), every page marked dirty. Then iterations, each a PART
/// section: send dirty pages until the rate limit's window is used up, 50 ms have passed, or the bitmap is empty; wait for
/// the window. Before each iteration, if what remains is below the threshold (bytes that fit in <c>downtime-limit</c> at the
/// last window's bandwidth), sync the dirty log first; if it is still below, complete: pause the writers ("stop the
/// guest"), sync once more, lift the rate limit, send the rest in the END section, EOF, and wait for the destination to say
/// it holds every page (downtime ends there). Then compare checksums of each block, source at the pause against
/// destination.
/// </para>
/// <para>
/// Design: all of it runs on the calling thread (QEMU's migration thread), which is the only thread that touches the
/// migration bitmaps, the statistics' counters, the writer and the rate limiter. The compression engine's workers copy each
/// page before compressing it; results come back in submission order and are written in that order, so the destination,
/// which applies copies of one page in stream order, always ends with the newest copy. The source guest's memory is only
/// ever read: a failed or cancelled migration leaves it untouched, and its writers are resumed.
/// </para>
/// </remarks>
public sealed class SourceMigration
{
    /// <summary>QEMU's <c>MAX_WAIT</c>: an iteration sends for at most 50 ms before it ends its section.</summary>
    public const int MaxIterationMs = 50;

    /// <summary>Batches each compress worker may hold: one in work, one queued, two done and waiting to be written.</summary>
    private const int BatchesPerWorker = 4;

    private const uint RamSectionId = 2;

    private readonly MigrationGuest _guest;
    private readonly MigrationParameters _parameters;
    private readonly SourceMigrationOptions _options;
    private readonly MigrationStatistics _statistics;
    private readonly DirtyBitmap[] _bitmaps;
    private readonly RamBlock[] _blocks;
    private long _pageRecordBytes;
    private long _cursorBlock;
    private long _cursorPage;

    /// <summary>Prepares a migration of <paramref name="guest"/>; the parameters are copied, so later changes do not apply.</summary>
    public SourceMigration(MigrationGuest guest, MigrationParameters parameters, SourceMigrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(guest);
        ArgumentNullException.ThrowIfNull(parameters);
        _guest = guest;
        _parameters = parameters.Clone();
        _options = options ?? new SourceMigrationOptions();
        _statistics = new MigrationStatistics((long)Math.Max(1, _options.RatePeriod.TotalMilliseconds));
        _blocks = guest.Memory.Blocks.ToArray();
        _bitmaps = _blocks.Select(b => new DirtyBitmap(b.PageCount)).ToArray();
    }

    /// <summary>The live statistics (a progress display may snapshot them from another thread).</summary>
    public MigrationStatistics Statistics => _statistics;

    /// <summary>Milliseconds on the migration's clock.</summary>
    public long NowMs => (long)_options.Time.GetElapsedTime(0).TotalMilliseconds;

    /// <summary>
    /// Migrates into <paramref name="output"/>. A <see cref="NetworkStream"/> is a connection to an Engine destination: the
    /// source shuts down its sending side after EOF and waits for the destination's reply (<see cref="MigrationReply"/>).
    /// Any other stream (a file) just receives the stream. Throws <see cref="MigrationException"/> on failure, after
    /// resuming the guest's writers.
    /// </summary>
    public MigrationResult Run(Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        var autoConverge = new AutoConverge(_parameters);
        var limiter = new RateLimiter(_parameters.MaxBandwidth, _options.Time);
        using var watch = new DestinationWatch(output, _options.Time, cancellationToken);

        // Live metrics (EngineMetrics): the listener reads _statistics on its own thread; ending records duration and downtime.
        using IDisposable metrics = EngineMetrics.TrackSource(_statistics, () => NowMs);
        long startBytes = 0;
        bool paused = false;
        try
        {
            _statistics.Start(NowMs, _guest.Memory.TotalSize, _parameters.DowntimeLimit);
            using var engine = new CompressionEngine(new CompressionEngineOptions
            {
                Compression = _parameters.Compression,
                CompressThreads = _parameters.CompressThreads,
                CompressWaitThread = _parameters.CompressWaitThread,
                BatchPages = CompressionEngineOptions.MaxBatchPages,
                RingCapacity = BatchesPerWorker,
            });
            // Not disposed: disposing flushes, and after a failure a flush into a dead or stalled connection would only
            // replace the real error (or wait out a send timeout). Success flushes explicitly.
            var writer = new MigrationStreamWriter(output, leaveOpen: true);

            // Setup: header, configuration, the block list; every page dirty; the dirty log starts clean.
            writer.WriteFileHeader();
            writer.WriteConfiguration(_options.MachineType);
            writer.WriteRamSetupSection(RamSectionId, _blocks.Select(b => new RamBlockInfo(b.Name, b.Size)).ToArray());
            writer.Flush();
            AccountFraming(limiter, writer.Position - startBytes);
            for (int i = 0; i < _blocks.Length; i++)
            {
                _guest.DirtyLog.SyncInto(i, _bitmaps[i]);
                _bitmaps[i].SetAll();
            }

            _statistics.BitmapSynced(NowMs, 0);
            _statistics.SetRemaining(DirtyBytes);
            _statistics.SetupDone(NowMs);

            // Iterate until what is left fits in downtime-limit.
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

                long before = writer.Position;
                long pagesBefore = _pageRecordBytes;
                writer.WriteSectionHeader(SectionType.Part, RamSectionId);
                SendDirtyPages(engine, writer, limiter, watch, limited: true, cancellationToken);
                writer.EndRamSection();
                writer.Flush();
                AccountFraming(limiter, writer.Position - before - (_pageRecordBytes - pagesBefore));
                _statistics.SetRemaining(DirtyBytes);
                _options.Progress?.Invoke(_statistics.Snapshot(NowMs));
                while (limiter.IsOverLimit)
                {
                    // Wait for the window's end, but not for a destination that has gone: the watch wakes at once. A burst
                    // that overshot by several windows (pages in flight when the limit was reached) is paid off here in
                    // whole windows; sending one page per window meanwhile would cost a section, a flush and a progress
                    // report per page, and windows that measure one page make the bandwidth (and so the convergence
                    // threshold) look near zero.
                    watch.Sleep(limiter.TimeUntilWindowEnd, cancellationToken);
                }
            }

            // Completion: stop the guest, send the rest at full speed, end the stream.
            _statistics.GuestPaused(NowMs);
            _guest.Control?.Pause();
            paused = true;
            Sync(autoConverge);
            limiter.SetBandwidth(0);
            long endBefore = writer.Position;
            long endPagesBefore = _pageRecordBytes;
            writer.WriteSectionHeader(SectionType.End, RamSectionId);
            SendDirtyPages(engine, writer, limiter, watch, limited: false, cancellationToken);
            writer.EndRamSection();
            writer.WriteEof();
            writer.Flush();
            AccountFraming(limiter, writer.Position - endBefore - (_pageRecordBytes - endPagesBefore));
            long streamBytes = writer.Position;

            IReadOnlyList<BlockChecksum>? destination = null;
            if (TlsTransport.GetNetworkStream(output) is NetworkStream network)
            {
                // The return path (Engine extension): end our half (over TLS: close_notify, then FIN), then wait for
                // "received" and the checksums.
                TlsTransport.ShutdownSend(output, _options.ReplyTimeout);
                network.ReadTimeout = (int)Math.Clamp(_options.ReplyTimeout.TotalMilliseconds, 1, int.MaxValue);
                Stream reply = watch.ReplyStream(output, _options.ReplyTimeout);
                MigrationReply.ExpectReceived(MigrationReply.ReadLine(reply, "the destination's confirmation"));
                _statistics.Complete(NowMs);
                destination = MigrationReply.ParseChecksums(MigrationReply.ReadLine(reply, "the destination's checksums"));
            }
            else
            {
                output.Flush();
                _statistics.Complete(NowMs);
            }

            // The guest is still paused: its memory is exactly what was sent.
            IReadOnlyList<BlockChecksum> source = MemoryChecksum.Of(_guest.Memory);
            return new MigrationResult
            {
                Info = _statistics.Snapshot(NowMs),
                SourceChecksums = source,
                DestinationChecksums = destination,
                StreamBytes = streamBytes,
            };
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested)
        {
            // Cancellation shuts the connection down (DestinationWatch), so a blocked send or read ends in an I/O error:
            // that is the cancellation, not a failure of its own.
            _statistics.Fail(NowMs, "cancelled", cancelled: true);
            ResumeIfPaused(paused);
            throw e as OperationCanceledException ?? new OperationCanceledException("the migration was cancelled", e, cancellationToken);
        }
        catch (Exception e)
        {
            // Whatever failed (the connection, the destination, a worker, a writer thread, a bug), the guest runs on: a
            // migration that did not complete never leaves the source guest stopped.
            // Over TLS a send fails with a bare "broken pipe" when the destination refused or closed; its alert or error
            // line, read by the watch, is the reason.
            string? explained = e is MigrationException ? null : watch.ExplainFailure(TimeSpan.FromSeconds(1));
            string reason = explained ?? Describe(e);
            _statistics.Fail(NowMs, reason);
            ResumeIfPaused(paused);
            if (explained is not null)
            {
                throw new MigrationException(explained, e);
            }

            throw e as MigrationException ?? new MigrationException($"migration failed: {reason}", e);
        }
    }

    /// <summary>Dirty bytes still to send (QEMU's <c>ram_bytes_remaining</c>).</summary>
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

    private void AccountFraming(RateLimiter limiter, long bytes)
    {
        // Section headers, block list, EOS, footers, EOF: RAM bytes in QEMU's "transferred", and bytes on the link.
        _statistics.AddOverhead(bytes);
        limiter.Record(bytes);
    }

    private static string Describe(Exception e)
    {
        Exception inner = e;
        while (inner is IOException { InnerException: not null } && inner is not MigrationException)
        {
            inner = inner.InnerException!;
        }

        return inner is SocketException socket ? $"connection failed: {socket.Message} ({socket.SocketErrorCode})" : inner.Message;
    }

    private void ResumeIfPaused(bool paused)
    {
        if (paused)
        {
            // The migration failed: the source guest runs on, untouched.
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
    /// Sends dirty pages from the cursor on: until the bitmaps are empty, or (when <paramref name="limited"/>) the rate
    /// limit's window is used up or the iteration has run 50 ms. Every page submitted is written before it returns.
    /// Pages go to the workers in batches of dirty pages of one block (up to 128, fewer on a slow link, so one batch
    /// stays well inside a rate-limit window); the workers check them for zero and compress them.
    /// </summary>
    private void SendDirtyPages(CompressionEngine engine, MigrationStreamWriter writer, RateLimiter limiter, DestinationWatch watch, bool limited, CancellationToken cancellationToken)
    {
        long started = NowMs;
        int sinceCheck = 0;
        Span<long> offsets = stackalloc long[CompressionEngineOptions.MaxBatchPages];
        offsets = offsets[..BatchPages(engine, limited)];
        while (true)
        {
            int count = CollectDirty(offsets, out int blockIndex);
            if (count == 0)
            {
                break;
            }

            RamBlock block = _blocks[blockIndex];
            ReadOnlySpan<long> batch = offsets[..count];
            while (!engine.TrySubmit(block, batch))
            {
                // Every worker holds its full credit: write the oldest batch to free one.
                WriteBatch(engine, writer, limiter, engine.ReceiveBatch());
            }

            while (engine.TryReceiveBatch(out PageResultBatch ready))
            {
                WriteBatch(engine, writer, limiter, ready);
            }

            if (limited && limiter.IsOverLimit)
            {
                break;
            }

            sinceCheck += count;
            if (sinceCheck >= 64)
            {
                // As QEMU, the clock is read every 64 pages only.
                sinceCheck = 0;
                cancellationToken.ThrowIfCancellationRequested();
                watch.ThrowIfDestinationSpoke();
                if (limited && NowMs - started >= MaxIterationMs)
                {
                    break;
                }
            }
        }

        while (engine.InFlight > 0)
        {
            WriteBatch(engine, writer, limiter, engine.ReceiveBatch());
        }
    }

    /// <summary>
    /// Pages per batch: the engine's most when the link is unlimited; on a limited link at most an eighth of a rate-limit
    /// window's worth of raw pages, so that what is in flight when the window fills stays a fraction of a window.
    /// </summary>
    private int BatchPages(CompressionEngine engine, bool limited)
    {
        long bandwidth = _parameters.MaxBandwidth;
        if (!limited || bandwidth <= 0)
        {
            return engine.BatchPages;
        }

        long pagesPerWindow = bandwidth / RateLimiter.WindowsPerSecond / PageSizes.PageSize;
        return (int)Math.Clamp(pagesPerWindow / 8, 1, engine.BatchPages);
    }

    /// <summary>
    /// Takes up to <c>offsets.Length</c> dirty pages of one block from the cursor on (clearing their bits) into
    /// <paramref name="offsets"/>; returns how many, 0 when every bitmap is empty.
    /// </summary>
    private int CollectDirty(Span<long> offsets, out int blockIndex)
    {
        if (!FindNextDirty(out blockIndex, out long page))
        {
            return 0;
        }

        DirtyBitmap bitmap = _bitmaps[blockIndex];
        int count = 0;
        while (true)
        {
            bitmap.TestAndClear(page);
            offsets[count++] = page * PageSizes.PageSize;
            if (count == offsets.Length)
            {
                return count;
            }

            long next = bitmap.FindNextDirty(_cursorPage);
            if (next >= bitmap.PageCount)
            {
                return count;
            }

            page = next;
            _cursorPage = next + 1;
        }
    }

    private void WriteBatch(CompressionEngine engine, MigrationStreamWriter writer, RateLimiter limiter, in PageResultBatch batch)
    {
        int blockIndex = IndexOf(batch.Block);
        long start = writer.Position;
        for (int i = 0; i < batch.Count; i++)
        {
            PageResult result = batch[i];
            long before = writer.Position;
            switch (result.Kind)
            {
                case PageResultKind.Zero:
                    writer.WriteZeroPage(blockIndex, result.Offset);
                    _statistics.AddZeroPage(writer.Position - before);
                    break;
                case PageResultKind.Compressed:
                    writer.WriteCompressedPage(blockIndex, result.Offset, result.Bytes);
                    _statistics.AddCompressedPage(writer.Position - before, result.Length);
                    break;
                default:
                    writer.WriteRawPage(blockIndex, result.Offset, result.Bytes);
                    _statistics.AddNormalPage(writer.Position - before);
                    break;
            }

            if (result.IsBusy)
            {
                // As QEMU's save_compress_page: every page no thread took is busy, a zero one too.
                _statistics.AddBusy();
            }
        }

        long bytes = writer.Position - start;
        _pageRecordBytes += bytes;
        limiter.Record(bytes);
        engine.Release(in batch);
    }

    private int IndexOf(RamBlock block)
    {
        // A guest has one to a handful of blocks: a reference scan is cheaper than a dictionary.
        for (int i = 0; i < _blocks.Length; i++)
        {
            if (ReferenceEquals(_blocks[i], block))
            {
                return i;
            }
        }

        throw new InvalidOperationException($"RAM block '{block.Name}' is not part of this guest");
    }

    /// <summary>The next dirty page from the cursor, wrapping around once; false when every bitmap is empty.</summary>
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
