namespace Engine.Synthetic;

/// <summary>
/// Paces one writer thread: turns elapsed time, a rate in pages per second and a throttle into a number of writes allowed
/// now. Pure arithmetic over timestamps, so it is tested with made-up clocks.
/// </summary>
public sealed class WritePacer
{
    // A writer that was descheduled for a while may catch up, but by no more than 10 ms of writes: a guest does not
    // write in bursts of seconds after a hiccup, and throttling must bite at once.
    private const double MaxBurstSeconds = 0.010;

    private readonly double _pagesPerSecond;
    private readonly long _frequency;
    private long _last;
    private double _credit;

    /// <summary>Creates a pacer for <paramref name="pagesPerSecond"/> (0 or more) on a clock of <paramref name="timestampFrequency"/> ticks per second.</summary>
    public WritePacer(double pagesPerSecond, long timestampFrequency, long now)
    {
        if (!(pagesPerSecond >= 0) || double.IsInfinity(pagesPerSecond))
        {
            throw new ArgumentOutOfRangeException(nameof(pagesPerSecond), pagesPerSecond, "the write rate must be a finite number of pages per second, 0 or more");
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(timestampFrequency);
        _pagesPerSecond = pagesPerSecond;
        _frequency = timestampFrequency;
        _last = now;
    }

    /// <summary>
    /// Writes allowed at <paramref name="now"/> with the guest throttled by <paramref name="throttle"/> (0 to 0.99: the share
    /// of time the vCPUs are kept from running). The caller performs them and calls again.
    /// </summary>
    public int Take(long now, double throttle)
    {
        double elapsed = Math.Max(0, now - _last) / (double)_frequency;
        _last = now;
        double rate = _pagesPerSecond * (1 - Math.Clamp(throttle, 0, 0.99));
        _credit = Math.Min(_credit + (elapsed * rate), Math.Max(1, rate * MaxBurstSeconds));
        int allowed = (int)_credit;
        _credit -= allowed;
        return allowed;
    }

    /// <summary>Forgets the time since the last call (after a pause: a stopped guest earns no writes).</summary>
    public void Restart(long now)
    {
        _last = now;
        _credit = 0;
    }
}
