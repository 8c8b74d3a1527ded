namespace Engine.Pipeline;

/// <summary>
/// Keeps an engine's native buffers alive while its caller uses them (copies a page into them, or runs a handler that
/// reads a result), even if another thread disposes the engine at that moment.
/// </summary>
/// <remarks>
/// Design: a Dekker handshake between the one caller thread and whoever shuts the engine down. The caller raises
/// <c>_inside</c> with a full fence and then reads the stop flag; the stopper raises the stop flag with a full fence
/// (<see cref="StopSignal.Stop"/>) and then, before freeing anything, waits for <c>_inside</c> to drop. At least one of
/// them sees the other's write: either the caller sees the stop and does not touch the buffers, or the stopper sees the
/// caller inside and waits. <c>_depth</c> is the caller's alone and makes the gate re-entrant (a handler may call back
/// into the engine); <c>_ownerThread</c> lets a stopper on the caller's own thread (a handler that disposes the engine)
/// go ahead instead of waiting for itself. Used as a field (never copied).
/// </remarks>
internal struct CallerGate
{
    private int _inside;
    private int _depth;
    private int _ownerThread;

    /// <summary>Caller: enters, unless the engine is stopping (then returns false and stays out).</summary>
    public bool TryEnter(StopSignal stop)
    {
        if (_depth == 0)
        {
            // Written before the fence below, so a stopper that sees _inside = 1 also sees who is inside.
            _ownerThread = Environment.CurrentManagedThreadId;

            // Full fence: _inside = 1 is visible before the stop flag is read. Pairs with the Exchange in StopSignal.Stop.
            Interlocked.Exchange(ref _inside, 1);
            if (stop.IsStopRequested)
            {
                // Release: we touched nothing; the stopper may go ahead.
                Volatile.Write(ref _inside, 0);
                return false;
            }
        }

        _depth++;
        return true;
    }

    /// <summary>Caller: leaves (once per successful <see cref="TryEnter"/>).</summary>
    public void Exit()
    {
        if (--_depth == 0)
        {
            // Release: the caller's use of the buffers is complete before a stopper can see the gate down.
            Volatile.Write(ref _inside, 0);
        }
    }

    /// <summary>Stopper, after raising the stop flag: waits until the caller is out (unless the stopper is the caller).</summary>
    public void WaitUntilOut()
    {
        // Acquire both: _ownerThread was written before the caller's full fence that raised _inside.
        if (Volatile.Read(ref _inside) != 0 && Volatile.Read(ref _ownerThread) == Environment.CurrentManagedThreadId)
        {
            // The caller itself is stopping the engine from inside (a handler called Dispose): it is not using the
            // buffers while it does, and waiting for itself would never end.
            return;
        }

        // Acquire: once we see 0, the caller's last use of the buffers is done. The caller can only be inside for one
        // copy or one handler call: it sees the stop flag at its next step. Spin, then sleep, since a handler may be slow.
        SpinWait spinner = default;
        while (Volatile.Read(ref _inside) != 0)
        {
            spinner.SpinOnce();
        }
    }
}
