using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>
/// The one stop switch of an engine: the first failure (or Dispose) throws it, every worker and the caller notice it at
/// their next step or are woken from their wait, and the first failure is kept for the caller.
/// </summary>
/// <remarks>
/// Design: <c>_stopped</c> goes from 0 to 1 once and is read by every thread on every step; it is written once, so
/// reading it costs a hit on a clean shared line. <c>_fault</c> is set at most once, by compare-exchange, before the flag;
/// whoever sees the flag therefore also sees the fault. Parkers are registered while the engine is built (one thread,
/// before any worker starts) and never change afterwards.
/// </remarks>
internal sealed class StopSignal
{
    private readonly List<ThreadParker> _parkers = new();
    private Exception? _fault;
    private int _stopped;

    /// <summary>True once the engine is stopping. Every wait condition of the engine includes it.</summary>
    public bool IsStopRequested => Volatile.Read(ref _stopped) != 0; // Acquire: whoever sees the flag also sees the fault.

    /// <summary>The first failure, or null if the engine was stopped by Dispose (or has not stopped).</summary>
    public Exception? Fault => Volatile.Read(ref _fault); // Acquire: the exception's fields are visible with it.

    /// <summary>Adds a parker to wake on stop. Only while the engine is being built, before its threads start.</summary>
    public void Register(ThreadParker parker) => _parkers.Add(parker);

    /// <summary>Records <paramref name="fault"/> if it is the first, then stops. Returns true if it was the first.</summary>
    public bool Fail(Exception fault)
    {
        // Full fence (CompareExchange): only the first failure is kept, and it is published before the stop flag below.
        bool first = Interlocked.CompareExchange(ref _fault, fault, null) is null;
        Stop();
        return first;
    }

    /// <summary>Raises the stop flag and wakes every registered parker. Idempotent; any thread.</summary>
    public void Stop()
    {
        // Full fence (Exchange): the flag is visible before anything is read afterwards (CallerGate relies on this
        // store→load order before the engine frees its buffers). The Unparks below cannot be lost: Unpark leaves the
        // parker's signal set even if its owner has not blocked yet, and every waiter's condition includes this flag.
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }

        foreach (ThreadParker parker in _parkers)
        {
            parker.Unpark();
        }
    }
}
