namespace Engine.Pipeline;

/// <summary>
/// Keeps an engine's native buffers alive while its caller writes into them, even if another thread disposes the engine
/// at that moment.
/// </summary>
/// <remarks>
/// Design: a Dekker handshake between the one caller thread and whoever shuts the engine down. The caller raises
/// <c>_inside</c> with a full fence and then reads the stop flag; the stopper raises the stop flag with a full fence
/// (<see cref="StopSignal.Stop"/>) and then, before freeing anything, waits for <c>_inside</c> to drop. At least one of
/// them sees the other's write: either the caller sees the stop and does not touch the buffers, or the stopper sees the
/// caller inside and waits. Used as a field (never copied).
/// </remarks>
internal struct CallerGate
{
    private int _inside;

    /// <summary>Caller: enters, unless the engine is stopping (then returns false and stays out).</summary>
    public bool TryEnter(StopSignal stop)
    {
        // Full fence: _inside = 1 is visible before the stop flag is read. Pairs with the Exchange in StopSignal.Stop.
        Interlocked.Exchange(ref _inside, 1);
        if (stop.IsStopRequested)
        {
            Volatile.Write(ref _inside, 0);
            return false;
        }

        return true;
    }

    /// <summary>Caller: leaves.</summary>
    public void Exit()
    {
        // Release: the caller's writes into the buffers are complete before a stopper can see the gate down.
        Volatile.Write(ref _inside, 0);
    }

    /// <summary>Stopper, after raising the stop flag: waits until the caller is out. It can only be inside briefly.</summary>
    public void WaitUntilOut()
    {
        SpinWait spinner = default;

        // Acquire: once we see 0, the caller's last writes into the buffers are done.
        while (Volatile.Read(ref _inside) != 0)
        {
            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
