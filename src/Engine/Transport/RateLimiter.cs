namespace Engine.Transport;

/// <summary>
/// Enforces <c>max-bandwidth</c> as QEMU does: time is cut into 100 ms windows, each allowing bandwidth / 10 bytes; once a
/// window's bytes are used up, the sender waits for the window to end. Unlimited when the bandwidth is 0.
/// </summary>
/// <remarks>
/// Design: used by one thread, the migration thread that writes the stream (QEMU's <c>migration_rate_limit</c>); the
/// bandwidth may be changed from another thread (<see cref="SetBandwidth"/>), which is read with <see cref="Volatile"/>.
/// Time comes from a <see cref="TimeProvider"/> so tests drive it with a fake clock. Like QEMU, the limit is checked before
/// a record goes out, not split across windows, and a window that starts after a long pause does not grant the missed
/// windows' bytes. Unlike QEMU, bytes over a window's allowance are carried into the next window: Engine's sender has up
/// to compress-threads x ring-capacity pages in flight when it notices the limit, and writes them all before it waits, so
/// without the carry the link would average well above max-bandwidth.
/// </remarks>
internal sealed class RateLimiter
{
    /// <summary>Length of a window: QEMU's <c>BUFFER_DELAY</c>, 100 ms.</summary>
    public static readonly TimeSpan Window = TimeSpan.FromMilliseconds(100);

    /// <summary>Windows per second: QEMU's <c>XFER_LIMIT_RATIO</c>.</summary>
    public const int WindowsPerSecond = 10;

    private readonly TimeProvider _time;
    private readonly long _windowTicks;
    private long _bytesPerSecond;
    private long _windowStart;
    private long _used;

    /// <summary>Creates a limiter for <paramref name="bytesPerSecond"/> (0 = unlimited), starting a window now.</summary>
    public RateLimiter(long bytesPerSecond, TimeProvider? time = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesPerSecond);
        _time = time ?? TimeProvider.System;
        _bytesPerSecond = bytesPerSecond;
        _windowTicks = (long)(Window.TotalSeconds * _time.TimestampFrequency);
        _windowStart = _time.GetTimestamp();
    }

    /// <summary>The bandwidth in bytes per second; 0 = unlimited.</summary>
    public long BytesPerSecond => Volatile.Read(ref _bytesPerSecond);

    /// <summary>Whether there is no limit.</summary>
    public bool IsUnlimited => BytesPerSecond == 0;

    /// <summary>Bytes allowed per window: bandwidth / 10 (QEMU's <c>rate_limit_max</c>); <see cref="long.MaxValue"/> when unlimited.</summary>
    public long BytesPerWindow
    {
        get
        {
            long bandwidth = BytesPerSecond;
            return bandwidth == 0 ? long.MaxValue : Math.Max(1, bandwidth / WindowsPerSecond);
        }
    }

    /// <summary>Bytes counted in the current window (starting a new window first if the current one has ended).</summary>
    public long UsedInWindow
    {
        get
        {
            RollWindow();
            return _used;
        }
    }

    /// <summary>Changes the bandwidth (0 = unlimited), effective at once. QEMU lifts the limit at completion this way.</summary>
    public void SetBandwidth(long bytesPerSecond)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytesPerSecond);
        Volatile.Write(ref _bytesPerSecond, bytesPerSecond); // read by the sending thread at its next check
    }

    /// <summary>Counts <paramref name="bytes"/> sent in the current window (QEMU's <c>qemu_file_acct_rate_limit</c>).</summary>
    public void Record(long bytes)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(bytes);
        RollWindow();
        _used += bytes;
    }

    /// <summary>
    /// Whether the current window's allowance is used up (QEMU's <c>qemu_file_rate_limit</c>: used &gt; max). Starts a new
    /// window first if the current one has ended.
    /// </summary>
    public bool IsOverLimit
    {
        get
        {
            RollWindow();
            return !IsUnlimited && _used > BytesPerWindow;
        }
    }

    /// <summary>Time left in the current window (zero once it has ended).</summary>
    public TimeSpan TimeUntilWindowEnd
    {
        get
        {
            long left = _windowStart + _windowTicks - _time.GetTimestamp();
            return left <= 0 ? TimeSpan.Zero : TimeSpan.FromSeconds(left / (double)_time.TimestampFrequency);
        }
    }

    /// <summary>
    /// If over the limit, waits until the window ends (through the time provider) and starts the next one. Returns whether
    /// it waited. Throws <see cref="OperationCanceledException"/> if <paramref name="cancellationToken"/> fires.
    /// </summary>
    public bool WaitIfOverLimit(CancellationToken cancellationToken = default)
    {
        if (!IsOverLimit)
        {
            return false;
        }

        TimeSpan delay = TimeUntilWindowEnd;
        if (delay > TimeSpan.Zero)
        {
            // Blocking the sending thread is the point; one wait per window, not per page.
            Task.Delay(delay, _time, cancellationToken).GetAwaiter().GetResult();
        }

        RollWindow();
        return true;
    }

    private void RollWindow()
    {
        long now = _time.GetTimestamp();
        if (now - _windowStart >= _windowTicks)
        {
            // As QEMU: the new window starts now, not at the old window's end, so idle time is not banked. The overshoot
            // of the window that ended is owed by the next one.
            _windowStart = now;
            _used = IsUnlimited ? 0 : Math.Max(0, _used - BytesPerWindow);
        }
    }
}
