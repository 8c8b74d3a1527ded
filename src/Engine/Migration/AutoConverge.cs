namespace Engine.Migration;

/// <summary>
/// QEMU's auto-converge decision (<c>migration_trigger_throttle</c>, <c>mig_throttle_guest_down</c>): at the end of each rate
/// period, if the bytes the guest dirtied exceed <c>throttle-trigger-threshold</c> percent of the bytes sent, that period
/// counts as "high"; on the second high period the throttle starts at <c>cpu-throttle-initial</c>, or grows by
/// <c>cpu-throttle-increment</c> up to <c>max-cpu-throttle</c>, and the count starts again.
/// </summary>
/// <remarks>Used by the migration thread only. Pure arithmetic, tested without a clock.</remarks>
internal sealed class AutoConverge
{
    private readonly MigrationParameters _parameters;
    private int _highPeriods;

    /// <summary>Creates the decision for <paramref name="parameters"/> (read at each period, so changes apply at once).</summary>
    public AutoConverge(MigrationParameters parameters)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        _parameters = parameters;
    }

    /// <summary>The current throttle, percent (0 = not throttling).</summary>
    public int ThrottlePercent { get; private set; }

    /// <summary>
    /// Ends a period in which <paramref name="bytesSent"/> bytes went out and <paramref name="bytesDirtied"/> bytes were
    /// dirtied. Returns true if the throttle changed. Does nothing unless <c>auto-converge</c> is on.
    /// </summary>
    public bool EndPeriod(long bytesSent, long bytesDirtied)
    {
        if (!_parameters.AutoConverge)
        {
            return false;
        }

        long threshold = bytesSent * _parameters.ThrottleTriggerThreshold / 100;
        if (bytesDirtied > threshold && ++_highPeriods >= 2)
        {
            _highPeriods = 0;
            int next = ThrottlePercent == 0
                ? Math.Min(_parameters.CpuThrottleInitial, _parameters.MaxCpuThrottle)
                : Math.Min(ThrottlePercent + _parameters.CpuThrottleIncrement, _parameters.MaxCpuThrottle);
            bool changed = next != ThrottlePercent;
            ThrottlePercent = next;
            return changed;
        }

        return false;
    }
}
