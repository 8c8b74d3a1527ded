namespace Engine.Migration;

/// <summary>
/// What the source migration asks of the guest's vCPUs: stop them for the last pass (downtime), let them run on when the
/// migration fails, slow them down when auto-converge says so, and report a failure of their own. Called from the
/// migration's thread.
/// </summary>
public interface IGuestControl
{
    /// <summary>Stops the guest (no page is written after this returns) until <see cref="Resume"/>.</summary>
    void Pause();

    /// <summary>Lets the guest run on after a failed or cancelled migration.</summary>
    void Resume();

    /// <summary>Auto-converge: the share of the guest's CPU time to take away, 0 to 0.99.</summary>
    void Throttle(double fraction);

    /// <summary>A failure of the guest's own threads that must end the migration, or null.</summary>
    Exception? Failure { get; }
}
