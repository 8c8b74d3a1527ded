using Engine.Codecs;
using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// The counters and rates of a migration, computed as QEMU 7.2 computes them (<c>ram_counters</c>, <c>compression_counters</c>,
/// <c>migration_update_counters</c>, <c>migration_update_rates</c>); <see cref="Snapshot"/> gives an immutable
/// <see cref="MigrationInfo"/> for <c>info migrate</c> and <c>query-migrate</c>.
/// </summary>
/// <remarks>
/// <para>
/// Design: one thread, the migration's sending thread, calls every method except <see cref="Snapshot"/>; a progress reporter
/// may call <see cref="Snapshot"/> from another thread. Counters are 64-bit and written with <see cref="Volatile"/>, so a
/// snapshot never sees a torn value, only one a few pages old. Times are milliseconds from one clock, passed in by the
/// caller, so the arithmetic is tested with made-up times.
/// </para>
/// <para>Two cadences, as in QEMU:</para>
/// <list type="bullet">
/// <item><description>
/// Every ≥ 100 ms (<see cref="UpdateCounters"/>, QEMU's <c>BUFFER_DELAY</c>): bandwidth = bytes sent in the window / its
/// length (bytes/ms), throughput in mbps, pages per second, the convergence threshold = bandwidth × downtime-limit, and the
/// expected downtime = remaining / bandwidth once the guest has a dirty rate and the window carried more than 10 000 bytes.
/// </description></item>
/// <item><description>
/// Every ≥ 1 s rate period, checked at each dirty-bitmap sync (<see cref="BitmapSynced"/>): dirty pages rate = pages dirtied
/// in the period × 1000 / its length; compression busy rate = Δbusy / Δpages handled; compression rate = Δcompressed pages ×
/// 4096 / Δcompressed size.
/// </description></item>
/// </list>
/// </remarks>
internal sealed class MigrationStatistics
{
    /// <summary>QEMU's <c>BUFFER_DELAY</c>: the counters' window, ms.</summary>
    public const long CounterWindowMs = 100;

    /// <summary>QEMU's rate period: dirty and compression rates are recomputed at most once per second.</summary>
    public const long DefaultRatePeriodMs = 1000;

    private readonly long _ratePeriodMs;

    private int _status; // a MigrationStatus, as int for Volatile
    private string? _error;
    private long _startMs;
    private long _setupMs = -1;
    private long _endMs = -1;
    private long _downtimeStartMs = -1;
    private long _downtimeMs = -1;
    private long _expectedDowntimeMs;
    private long _downtimeLimitMs;

    // ram_counters
    private long _transferred;
    private long _duplicate;
    private long _normal;
    private long _remaining;
    private long _total;
    private long _dirtySyncCount;
    private long _dirtyPagesRate;
    private double _mbps;
    private double _pagesPerSecond;
    private long _targetPageCount;

    // compression_counters
    private long _compressedPages;
    private long _busy;
    private long _compressedSize;
    private double _busyRate;
    private double _compressionRate;

    private int _throttlePercent;

    // The 100 ms window.
    private long _windowStartMs;
    private long _windowStartBytes;
    private long _windowStartPages;
    private double _bandwidthBytesPerMs;
    private long _thresholdBytes;

    // The rate period.
    private long _periodStartMs;
    private long _dirtyPagesInPeriod;
    private long _periodStartBusy;
    private long _periodStartTargetPages;
    private long _periodStartCompressedPages;
    private long _periodStartCompressedSize;
    private long _periodStartTransferred;

    /// <summary>Creates statistics with QEMU's 1 s rate period.</summary>
    public MigrationStatistics()
        : this(DefaultRatePeriodMs)
    {
    }

    /// <summary>Creates statistics with another rate period (tests and tiny guests use a shorter one).</summary>
    public MigrationStatistics(long ratePeriodMs)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(ratePeriodMs);
        _ratePeriodMs = ratePeriodMs;
    }

    /// <summary>The state.</summary>
    public MigrationStatus Status => (MigrationStatus)Volatile.Read(ref _status);

    /// <summary>Bytes sent for RAM so far (records, headers, end-of-section markers).</summary>
    public long Transferred => Volatile.Read(ref _transferred);

    /// <summary>The convergence threshold: bytes that can go out within downtime-limit at the last window's bandwidth.</summary>
    public long ThresholdBytes => _thresholdBytes;

    /// <summary>The last window's bandwidth, bytes per millisecond.</summary>
    public double BandwidthBytesPerMs => _bandwidthBytesPerMs;

    /// <summary>Pages handled so far (zero, normal, compressed): QEMU's <c>target_page_count</c>.</summary>
    public long TargetPageCount => Volatile.Read(ref _targetPageCount);

    /// <summary>The rate period, ms.</summary>
    public long RatePeriodMs => _ratePeriodMs;

    /// <summary>Starts the clock: status setup, <paramref name="totalBytes"/> of RAM, expected downtime = the limit.</summary>
    public void Start(long nowMs, long totalBytes, long downtimeLimitMs)
    {
        _startMs = nowMs;
        _windowStartMs = nowMs;
        _periodStartMs = nowMs;
        _downtimeLimitMs = downtimeLimitMs;
        _expectedDowntimeMs = downtimeLimitMs;
        Volatile.Write(ref _total, totalBytes);
        Volatile.Write(ref _remaining, totalBytes);
        SetStatus(MigrationStatus.Setup);
    }

    /// <summary>The setup (header and block list) is done: records the setup time; status active.</summary>
    public void SetupDone(long nowMs)
    {
        Volatile.Write(ref _setupMs, nowMs - _startMs);
        SetStatus(MigrationStatus.Active);
    }

    /// <summary>A zero page went out in a record of <paramref name="recordBytes"/> bytes (QEMU: <c>duplicate</c>).</summary>
    public void AddZeroPage(long recordBytes)
    {
        Volatile.Write(ref _duplicate, _duplicate + 1);
        AddPage(recordBytes);
    }

    /// <summary>A raw page went out in a record of <paramref name="recordBytes"/> bytes (QEMU: <c>normal</c>).</summary>
    public void AddNormalPage(long recordBytes)
    {
        Volatile.Write(ref _normal, _normal + 1);
        AddPage(recordBytes);
    }

    /// <summary>
    /// A compressed page went out: a record of <paramref name="recordBytes"/> bytes with a payload of
    /// <paramref name="payloadBytes"/>. The compressed size grows by the payload and its 4-byte length, which is QEMU's
    /// "record bytes − 8" for its always-CONTINUE compressed records.
    /// </summary>
    public void AddCompressedPage(long recordBytes, int payloadBytes)
    {
        Volatile.Write(ref _compressedPages, _compressedPages + 1);
        Volatile.Write(ref _compressedSize, _compressedSize + payloadBytes + sizeof(int));
        AddPage(recordBytes);
    }

    /// <summary>
    /// A page found every compress worker busy (compress-wait-thread off): it went out as a zero or raw page (counted there
    /// too) and is counted here as well, as QEMU's <c>save_compress_page</c> counts it.
    /// </summary>
    public void AddBusy() => Volatile.Write(ref _busy, _busy + 1);

    /// <summary>Bytes that are not page records (section headers, block list, end-of-section markers).</summary>
    public void AddOverhead(long bytes) => Volatile.Write(ref _transferred, _transferred + bytes);

    /// <summary>Sets the remaining dirty bytes (QEMU: <c>migration_dirty_pages × page size</c>).</summary>
    public void SetRemaining(long bytes) => Volatile.Write(ref _remaining, bytes);

    /// <summary>Sets the auto-converge throttle shown as <c>cpu throttle percentage</c>.</summary>
    public void SetThrottle(int percent) => Volatile.Write(ref _throttlePercent, percent);

    /// <summary>
    /// The 100 ms counters (QEMU's <c>migration_update_counters</c>). Returns false, changing nothing, until a window has
    /// passed; then recomputes bandwidth, threshold, mbps, pages per second and expected downtime, and starts a new window.
    /// </summary>
    public bool UpdateCounters(long nowMs)
    {
        long spent = nowMs - _windowStartMs;
        if (spent < CounterWindowMs)
        {
            return false;
        }

        long bytes = _transferred - _windowStartBytes;
        long pages = _targetPageCount - _windowStartPages;
        _bandwidthBytesPerMs = (double)bytes / spent;
        _thresholdBytes = (long)(_bandwidthBytesPerMs * _downtimeLimitMs);
        Volatile.Write(ref _mbps, bytes * 8.0 / (spent / 1000.0) / 1e6);
        Volatile.Write(ref _pagesPerSecond, pages * 1000.0 / spent);
        if (_dirtyPagesRate != 0 && bytes > 10_000 && _bandwidthBytesPerMs > 0)
        {
            Volatile.Write(ref _expectedDowntimeMs, (long)(_remaining / _bandwidthBytesPerMs));
        }

        _windowStartMs = nowMs;
        _windowStartBytes = _transferred;
        _windowStartPages = _targetPageCount;
        return true;
    }

    /// <summary>
    /// A dirty-bitmap sync found <paramref name="newlyDirtyPages"/> newly dirty pages (QEMU's <c>migration_bitmap_sync</c>).
    /// Counts the sync; when a rate period has passed, recomputes the dirty pages rate and the compression rates, and returns
    /// the period's bytes sent and bytes dirtied for auto-converge (null otherwise).
    /// </summary>
    public (long BytesSent, long BytesDirtied)? BitmapSynced(long nowMs, long newlyDirtyPages)
    {
        Volatile.Write(ref _dirtySyncCount, _dirtySyncCount + 1);
        _dirtyPagesInPeriod += newlyDirtyPages;
        long period = nowMs - _periodStartMs;
        if (period < _ratePeriodMs)
        {
            return null;
        }

        Volatile.Write(ref _dirtyPagesRate, _dirtyPagesInPeriod * 1000 / period);
        long pages = _targetPageCount - _periodStartTargetPages;
        if (pages > 0)
        {
            Volatile.Write(ref _busyRate, (double)(_busy - _periodStartBusy) / pages);
        }

        long size = _compressedSize - _periodStartCompressedSize;
        if (size != 0)
        {
            Volatile.Write(ref _compressionRate, (double)(_compressedPages - _periodStartCompressedPages) * PageSizes.PageSize / size);
        }

        var result = (_transferred - _periodStartTransferred, _dirtyPagesInPeriod * PageSizes.PageSize);
        _periodStartMs = nowMs;
        _dirtyPagesInPeriod = 0;
        _periodStartBusy = _busy;
        _periodStartTargetPages = _targetPageCount;
        _periodStartCompressedPages = _compressedPages;
        _periodStartCompressedSize = _compressedSize;
        _periodStartTransferred = _transferred;
        return result;
    }

    /// <summary>The guest was paused for the last pass (QEMU's <c>downtime_start</c>); status device.</summary>
    public void GuestPaused(long nowMs)
    {
        Volatile.Write(ref _downtimeStartMs, nowMs);
        SetStatus(MigrationStatus.Device);
    }

    /// <summary>
    /// The destination holds everything: downtime = now − pause; total time; throughput over the whole migration without
    /// the setup (QEMU: bytes × 8 / (total − setup) / 1000 mbps); status completed. Rates are brought up to date first.
    /// </summary>
    public void Complete(long nowMs)
    {
        if (_downtimeStartMs < 0)
        {
            GuestPaused(nowMs);
        }

        // The last period's compression rates, however short it was, so a short migration reports them too.
        if (_compressedSize - _periodStartCompressedSize != 0)
        {
            Volatile.Write(ref _compressionRate, (double)(_compressedPages - _periodStartCompressedPages) * PageSizes.PageSize / (_compressedSize - _periodStartCompressedSize));
        }

        Volatile.Write(ref _downtimeMs, nowMs - _downtimeStartMs);
        Volatile.Write(ref _endMs, nowMs);
        long transferTime = nowMs - _startMs - Math.Max(0, _setupMs);
        if (transferTime > 0)
        {
            Volatile.Write(ref _mbps, _transferred * 8.0 / transferTime / 1000.0);
        }

        Volatile.Write(ref _remaining, 0);
        SetStatus(MigrationStatus.Completed);
    }

    /// <summary>The migration failed (or was cancelled) with <paramref name="error"/>.</summary>
    public void Fail(long nowMs, string error, bool cancelled = false)
    {
        Volatile.Write(ref _error, error);
        Volatile.Write(ref _endMs, nowMs);
        SetStatus(cancelled ? MigrationStatus.Cancelled : MigrationStatus.Failed);
    }

    /// <summary>An immutable view of everything, at <paramref name="nowMs"/> (any thread).</summary>
    public MigrationInfo Snapshot(long nowMs)
    {
        MigrationStatus status = Status;
        long end = Volatile.Read(ref _endMs);
        long setup = Volatile.Read(ref _setupMs);
        long downtime = Volatile.Read(ref _downtimeMs);
        bool running = status is MigrationStatus.Setup or MigrationStatus.Active or MigrationStatus.Device;
        return new MigrationInfo
        {
            Status = status,
            ErrorDescription = Volatile.Read(ref _error),
            TotalTimeMs = status == MigrationStatus.None ? 0 : (end >= 0 ? end : nowMs) - _startMs,
            SetupTimeMs = setup >= 0 ? setup : null,
            DowntimeMs = status == MigrationStatus.Completed ? downtime : null,
            ExpectedDowntimeMs = running ? Volatile.Read(ref _expectedDowntimeMs) : null,
            TransferredBytes = Volatile.Read(ref _transferred),
            RemainingBytes = Volatile.Read(ref _remaining),
            TotalBytes = Volatile.Read(ref _total),
            DuplicatePages = Volatile.Read(ref _duplicate),
            NormalPages = Volatile.Read(ref _normal),
            Mbps = Volatile.Read(ref _mbps),
            DirtyPagesRate = Volatile.Read(ref _dirtyPagesRate),
            DirtySyncCount = Volatile.Read(ref _dirtySyncCount),
            PagesPerSecond = (long)Volatile.Read(ref _pagesPerSecond),
            CompressedPages = Volatile.Read(ref _compressedPages),
            CompressionBusy = Volatile.Read(ref _busy),
            CompressionBusyRate = Volatile.Read(ref _busyRate),
            CompressedSizeBytes = Volatile.Read(ref _compressedSize),
            CompressionRate = Volatile.Read(ref _compressionRate),
            CpuThrottlePercentage = Volatile.Read(ref _throttlePercent),
        };
    }

    private void AddPage(long recordBytes)
    {
        Volatile.Write(ref _transferred, _transferred + recordBytes);
        Volatile.Write(ref _targetPageCount, _targetPageCount + 1);
    }

    private void SetStatus(MigrationStatus status) => Volatile.Write(ref _status, (int)status);
}
