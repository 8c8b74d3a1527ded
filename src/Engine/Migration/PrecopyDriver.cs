using System.Net.Sockets;
using Engine.Codecs;
using Engine.Diagnostics;
using Engine.Memory;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// Pre-copy as QEMU 7.2 does it (migration/ram.c, migration.c), written once for both wire modes: the source of
/// <see cref="SourceMigration"/> (one stream, pages compressed by the <see cref="Pipeline.CompressionEngine"/>) and of
/// <see cref="MultifdSource"/> (a main connection plus multifd channels). How pages leave is a
/// <see cref="PageSender"/>; everything else is here.
/// </summary>
/// <remarks>
/// <para>
/// Setup: the stream header and configuration, the sender's own start (compress workers; the multifd channel
/// connections, after the main one as QEMU), the RAM block list (START section), every page marked dirty. Then
/// iterations, each a PART section: send dirty pages until the rate limit's window is used up, 50 ms have passed, or the
/// bitmap is empty; end the section (the sender writes every page it holds first; multifd adds its SYNC barrier); wait
/// for the window. Before each iteration, if what remains is below the threshold (bytes that fit in
/// <c>downtime-limit</c> at the last window's bandwidth), sync the dirty log first; if it is still below, complete: pause
/// the guest, sync once more, lift the rate limit, send the rest in the END section, EOF, and wait for the destination to
/// say it holds every page (downtime ends there). Then compare checksums of each block, source at the pause against
/// destination. With a core to spare beside the sender's busy threads, the source's checksum is hashed chunk by chunk as
/// the pages are handed over (<see cref="SourceChecksums"/>: a 16 MiB chunk when its last dirty page has gone, again at
/// the pause if the guest wrote it after), so little is left to hash after the stream ends; else in one pass after it.
/// </para>
/// <para>
/// Transferred bytes (QEMU's <c>ram.transferred</c>) are every byte the source writes: the stream's header,
/// configuration, section framing and page records on the main stream, and what the sender reports for its pages
/// (multifd: packets and SYNC packets on the channels).
/// </para>
/// <para>
/// Design: all of it runs on the calling thread (QEMU's migration thread), which is the only thread that touches the
/// migration bitmaps, the statistics' counters, the writer, the rate limiter and the sender. Within a section each page
/// is handed to the sender once (the bitmap is only synced between sections), and a section ends only when the sender
/// has written (or, multifd, fenced with SYNC) every page it was handed, so the destination ends with every page's last
/// copy. The sender is called once per batch of dirty pages of one block, never per page. The source guest's memory is
/// only ever read: a failed or cancelled migration leaves it untouched, and a paused guest is resumed.
/// </para>
/// </remarks>
internal sealed partial class PrecopyDriver
{
    /// <summary>QEMU's <c>MAX_WAIT</c>: an iteration sends for at most 50 ms before it ends its section.</summary>
    public const int MaxIterationMs = 50;

    /// <summary>As QEMU, the clock (and cancellation, the destination, the sender's health) is checked every 64 pages.</summary>
    private const int CheckEveryPages = 64;

    private const uint RamSectionId = 2;

    private readonly MigrationGuest _guest;
    private readonly MigrationParameters _parameters;
    private readonly SourceMigrationOptions _options;
    private readonly MigrationStatistics _statistics;
    private readonly DirtyBitmap[] _bitmaps;
    private readonly RamBlock[] _blocks;
    private readonly SourceChecksums _checksums;
    private long _cursorBlock;
    private long _cursorPage;

    /// <summary>Prepares a migration of <paramref name="guest"/>; the parameters are copied, so later changes do not apply.</summary>
    public PrecopyDriver(MigrationGuest guest, MigrationParameters parameters, SourceMigrationOptions? options)
    {
        ArgumentNullException.ThrowIfNull(guest);
        ArgumentNullException.ThrowIfNull(parameters);
        _guest = guest;
        _parameters = parameters.Clone();
        _options = options ?? new SourceMigrationOptions();
        _statistics = new MigrationStatistics((long)Math.Max(1, _options.RatePeriod.TotalMilliseconds));
        _blocks = guest.Memory.Blocks.ToArray();
        _bitmaps = _blocks.Select(b => new DirtyBitmap(b.PageCount)).ToArray();
        _checksums = new SourceChecksums(_blocks, _bitmaps);
    }

    /// <summary>The parameters (the driver's copy).</summary>
    public MigrationParameters Parameters => _parameters;

    /// <summary>The live statistics (a progress display may snapshot them from another thread).</summary>
    public MigrationStatistics Statistics => _statistics;

    /// <summary>The guest's RAM blocks, in the order of the block list; a block's index is its index here.</summary>
    public RamBlock[] Blocks => _blocks;

    /// <summary>The source's checksums, hashed chunk by chunk as the pages are sent (counts for tests).</summary>
    internal SourceChecksums Checksums => _checksums;

    /// <summary>The machine type the stream's configuration names (the destination QEMU's own).</summary>
    public string MachineType => _options.MachineType;

    /// <summary>Milliseconds on the migration's clock.</summary>
    public long NowMs => (long)_options.Time.GetElapsedTime(0).TotalMilliseconds;

    /// <summary>
    /// Migrates into <paramref name="main"/> with <paramref name="sender"/>, which this disposes whatever happens. A
    /// connection (plain or TLS) has its sending side ended after EOF; with <paramref name="expectReply"/> the source then
    /// waits for the destination's reply (<see cref="MigrationReply"/>). Any other stream (a file) just receives the
    /// stream. Throws <see cref="MigrationException"/> on failure, <see cref="OperationCanceledException"/> on
    /// cancellation, after resuming the guest.
    /// </summary>
    public MigrationResult Run(Stream main, PageSender sender, bool expectReply, CancellationToken cancellationToken)
    {
        using (sender)
        {
            ArgumentNullException.ThrowIfNull(main);
            var autoConverge = new AutoConverge(_parameters);
            var limiter = new RateLimiter(_parameters.MaxBandwidth, _options.Time);
            MigrationConnection? destination = MigrationConnection.Of(main);

            // Blocking socket calls do not observe a token: shutting the socket down is what wakes them.
            using CancellationTokenRegistration abort = destination?.ShutdownWhenCancelled(cancellationToken) ?? default;

            // Live metrics (EngineMetrics): the listener reads _statistics on its own thread; ending records duration and downtime.
            using IDisposable metrics = SourceMetrics.Track(_statistics, () => NowMs);
            bool paused = false;
            Task<IReadOnlyList<BlockChecksum>>? ownChecksums = null;
            try
            {
                _statistics.Start(NowMs, _guest.Memory.TotalSize, _parameters.DowntimeLimit);

                // Not disposed: disposing flushes, and after a failure a flush into a dead or stalled connection would only
                // replace the real error (or wait out a send timeout). Success flushes explicitly.
                var writer = new MigrationStreamWriter(main, leaveOpen: true);
                writer.WriteFileHeader();
                writer.WriteConfiguration(_options.MachineType);
                Account(limiter, writer.Position);
                sender.Open(writer, limiter, cancellationToken);
                _checksums.HashWhileSending = _options.ChecksumWhileSending ?? SourceChecksums.HashWhileSendingOn(Environment.ProcessorCount, sender.BusyThreads);

                // Setup: the block list; every page dirty; the dirty log starts clean.
                long start = writer.Position;
                writer.WriteRamSectionStart(RamSectionId);
                writer.WriteRamBlockList(_blocks.Select(b => new RamBlockInfo(b.Name, b.Size)).ToArray());
                Account(limiter, writer.Position - start);
                EndSection(sender, writer, limiter, eof: false);
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
                    ThrowIfGuestFailed();
                    ThrowIfDestinationSpoke(destination);
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

                    BeginSection(SectionType.Part, writer, limiter);
                    SendDirtyPages(sender, limiter, destination, limited: true, cancellationToken);
                    EndSection(sender, writer, limiter, eof: false);
                    _statistics.SetRemaining(DirtyBytes);
                    _options.Progress?.Invoke(_statistics.Snapshot(NowMs));
                    while (limiter.IsOverLimit)
                    {
                        // Wait for the window's end, but not for a destination that has gone: the watch wakes at once. A
                        // burst that overshot by several windows (pages in flight when the limit was reached) is paid off
                        // here in whole windows; sending one page per window meanwhile would cost a section, a flush and a
                        // progress report per page, and windows that measure one page make the bandwidth (and so the
                        // convergence threshold) look near zero.
                        SleepWatching(destination, limiter.TimeUntilWindowEnd, cancellationToken);
                    }
                }

                // Completion: stop the guest, send the rest at full speed, end the stream.
                _statistics.GuestPaused(NowMs);
                _guest.Control?.Pause();
                paused = true;
                _checksums.GuestPaused = true;
                Sync(autoConverge);
                limiter.SetBandwidth(0);
                BeginSection(SectionType.End, writer, limiter);
                SendDirtyPages(sender, limiter, destination, limited: false, cancellationToken);
                EndSection(sender, writer, limiter, eof: true);
                long streamBytes = writer.Position + sender.Finish();

                // The guest is still paused: its memory is exactly what was sent. Most chunks were hashed as their last
                // page was sent; the rest (written after their hash, or never passed clean) are hashed now. When a reply
                // is awaited they are hashed while the destination finishes and hashes its own memory: the source's pass
                // then no longer waits for the destination's checksums line (docs/PERFORMANCE.md).
                bool awaitingReply = destination is not null && expectReply;
                ownChecksums = awaitingReply ? Task.Run(_checksums.Finish, CancellationToken.None) : null;
                IReadOnlyList<BlockChecksum>? destinationChecksums = EndStream(main, destination, expectReply);
                IReadOnlyList<BlockChecksum> source = ownChecksums is not null ? ownChecksums.GetAwaiter().GetResult() : _checksums.Finish();
                return new MigrationResult
                {
                    Info = _statistics.Snapshot(NowMs),
                    SourceChecksums = source,
                    DestinationChecksums = destinationChecksums,
                    StreamBytes = streamBytes,
                };
            }
            catch (Exception e) when (cancellationToken.IsCancellationRequested)
            {
                // Cancellation shuts the connection down (ShutdownWhenCancelled), so a blocked send or read ends in an I/O
                // error: that is the cancellation, not a failure of its own.
                _statistics.Fail(NowMs, "cancelled", cancelled: true);
                ResumeIfPaused(paused);
                throw e as OperationCanceledException ?? new OperationCanceledException("the migration was cancelled", e, cancellationToken);
            }
            catch (Exception e)
            {
                // Whatever failed (the connection, the destination, a worker or channel, a writer thread, a bug), the
                // guest runs on: a migration that did not complete never leaves the source guest stopped.
                // Over TLS a send fails with a bare "broken pipe" when the destination refused or closed; its alert or
                // error line, read by the watch, is the reason.
                // A multifd channel's failed send (a MigrationException around the channel's IOException) is explained the
                // same way; a refusal of this source's own, such as a channel's TLS check of the destination, is its own reason.
                bool ownReason = e is MigrationException { InnerException: not IOException } or EngineException { Kind: EngineErrorKind.Security };
                string? explained = ownReason ? null : ExplainFailure(destination, TimeSpan.FromSeconds(1));
                string reason = explained ?? Describe(e);
                _statistics.Fail(NowMs, reason);
                ResumeIfPaused(paused);
                if (explained is not null)
                {
                    throw new MigrationException(explained, e);
                }

                throw e as MigrationException ?? new MigrationException($"{sender.Name} failed: {reason}", e);
            }
            finally
            {
                // No chunk's hash outlives the migration (the caller may free the memory next): the pass started before
                // the reply ends first (its failure is the migration's own only on success, reported above).
                if (ownChecksums is not null)
                {
                    try
                    {
                        ownChecksums.Wait();
                    }
                    catch (AggregateException)
                    {
                        // A migration that failed reports its own error.
                    }
                }

                _checksums.Drain();
            }
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

    private static string Describe(Exception e)
    {
        Exception inner = e;
        while (inner is IOException { InnerException: not null } && inner is not MigrationException)
        {
            inner = inner.InnerException!;
        }

        return inner is SocketException socket ? $"connection failed: {socket.Message} ({socket.SocketErrorCode})" : inner.Message;
    }

    /// <summary>Framing on the main stream (header, configuration, section headers, block list, EOS, footers, EOF).</summary>
    private void Account(RateLimiter limiter, long bytes)
    {
        // RAM bytes in QEMU's "transferred", and bytes on the link.
        _statistics.AddOverhead(bytes);
        limiter.Record(bytes);
    }

    private void BeginSection(SectionType type, MigrationStreamWriter writer, RateLimiter limiter)
    {
        long before = writer.Position;
        writer.WriteSectionHeader(type, RamSectionId);
        Account(limiter, writer.Position - before);
    }

    /// <summary>The sender writes (multifd: fences) every page it holds, then EOS, the footer, and EOF at the end.</summary>
    private void EndSection(PageSender sender, MigrationStreamWriter writer, RateLimiter limiter, bool eof)
    {
        sender.EndSection();
        long before = writer.Position;
        writer.EndRamSection();
        if (eof)
        {
            writer.WriteEof();
        }

        writer.Flush();
        Account(limiter, writer.Position - before);
    }

    /// <summary>
    /// After EOF: on a connection, ends the sending side (over TLS: close_notify, then FIN) and, when a reply is expected
    /// (an Engine destination; QEMU sends none), waits for "received" and the checksums. Downtime ends here.
    /// </summary>
    private IReadOnlyList<BlockChecksum>? EndStream(Stream main, MigrationConnection? destination, bool expectReply)
    {
        if (destination is null)
        {
            main.Flush();
            _statistics.Complete(NowMs);
            return null;
        }

        destination.ShutdownSend(_options.ReplyTimeout);
        if (!expectReply)
        {
            _statistics.Complete(NowMs);
            return null;
        }

        destination.SetReceiveTimeout(_options.ReplyTimeout);
        Stream reply = ReplyStream(destination, _options.ReplyTimeout);
        MigrationReply.ExpectReceived(MigrationReply.ReadLine(reply, "the destination's confirmation"));
        _statistics.Complete(NowMs);
        return MigrationReply.ParseChecksums(MigrationReply.ReadLine(reply, "the destination's checksums"));
    }

    private void ResumeIfPaused(bool paused)
    {
        if (paused)
        {
            // The migration failed: the source guest runs on, untouched.
            _guest.Control?.Resume();
        }
    }

    private void ThrowIfGuestFailed()
    {
        if (_guest.Control?.Failure is Exception failure)
        {
            throw new MigrationException($"the guest failed: {failure.Message}", failure);
        }
    }

    private void Sync(AutoConverge autoConverge)
    {
        long added = 0;
        for (int i = 0; i < _blocks.Length; i++)
        {
            added += _guest.DirtyLog.SyncInto(i, _bitmaps[i]);
        }

        // A chunk hashed before a write the log now reports is hashed again.
        _checksums.Synced();

        (long BytesSent, long BytesDirtied)? period = _statistics.BitmapSynced(NowMs, added);
        if (period is { } p && autoConverge.EndPeriod(p.BytesSent, p.BytesDirtied))
        {
            _guest.Control?.Throttle(autoConverge.ThrottlePercent / 100.0);

            _statistics.SetThrottle(autoConverge.ThrottlePercent);
        }

        _statistics.SetRemaining(DirtyBytes);
    }

    /// <summary>
    /// Hands dirty pages to <paramref name="sender"/> from the cursor on, in batches of dirty pages of one block: until the
    /// bitmaps are empty, or (when <paramref name="limited"/>) the rate limit's window is used up or the iteration has run
    /// 50 ms. The section's end (<see cref="EndSection"/>) then writes what the sender still holds.
    /// </summary>
    private void SendDirtyPages(PageSender sender, RateLimiter limiter, MigrationConnection? destination, bool limited, CancellationToken cancellationToken)
    {
        long started = NowMs;
        int sinceCheck = 0;
        Span<long> offsets = stackalloc long[PageSender.MostPagesPerCall];
        offsets = offsets[..BatchPages(sender, limited)];
        while (true)
        {
            int count = CollectDirty(offsets, out int blockIndex);
            if (count == 0)
            {
                _checksums.AllSent();
                break;
            }

            sender.SendPages(blockIndex, offsets[..count]);
            _checksums.Handed(blockIndex, offsets[0], offsets[count - 1]);
            if (limited && limiter.IsOverLimit)
            {
                break;
            }

            sinceCheck += count;
            if (sinceCheck >= CheckEveryPages)
            {
                sinceCheck = 0;
                cancellationToken.ThrowIfCancellationRequested();
                ThrowIfDestinationSpoke(destination);
                sender.ThrowIfFailed();
                if (limited && NowMs - started >= MaxIterationMs)
                {
                    break;
                }
            }
        }
    }

    /// <summary>
    /// Pages per batch: the sender's most when the link is unlimited; on a limited link at most an eighth of a rate-limit
    /// window's worth of raw pages, so that what is in flight when the window fills stays a fraction of a window.
    /// </summary>
    private int BatchPages(PageSender sender, bool limited)
    {
        int most = Math.Min(sender.MaxBatchPages, PageSender.MostPagesPerCall);
        long bandwidth = _parameters.MaxBandwidth;
        if (!limited || bandwidth <= 0)
        {
            return most;
        }

        long pagesPerWindow = bandwidth / RateLimiter.WindowsPerSecond / PageSizes.PageSize;
        return (int)Math.Clamp(pagesPerWindow / 8, 1, most);
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
