using System.Runtime.CompilerServices;

namespace Engine.Threading;

/// <summary>
/// The wait strategy of one waiting thread: spin briefly, then yield, then block on an event. Other threads wake it after
/// they publish something, and pay for a wake-up (a kernel call) only when it is actually blocked.
/// </summary>
/// <remarks>
/// Design: one thread, the owner, waits on a parker (a worker for its work, the engine's caller for its results); any
/// number of threads may call <see cref="WakeIfParked"/> or <see cref="Unpark"/>. A lost wake-up is ruled out by a Dekker
/// handshake: the owner raises <c>Parked</c> with a full fence and then looks at its condition once more before it blocks;
/// a waker publishes its data, issues a full fence, then reads <c>Parked</c>. With both fences at least one of them sees
/// the other's write: either the owner sees the data and does not block, or the waker sees <c>Parked</c> and sets the
/// event. The event is an auto-reset signal built on <see cref="Monitor"/> (not <see cref="ManualResetEventSlim"/>, which
/// allocates its lock object the first time someone blocks, and so would allocate in the middle of a steady state); a
/// late <see cref="Unpark"/> from an earlier round leaves the signal set and costs one spurious wake-up, which the
/// owner's loop absorbs. An idle owner is blocked in the kernel and burns no CPU; a busy one never reaches the event.
/// </remarks>
internal sealed class ThreadParker
{
    /// <summary>
    /// How many <see cref="SpinWait.SpinOnce(int)"/> rounds to try before blocking. SpinWait busy-spins (with back-off) for its
    /// first 10 rounds and yields the processor after that, so this is about 10 short spins and 10 yields.
    /// </summary>
    public const int DefaultSpinCount = 20;

    private readonly object _signalLock = new();
    private readonly int _spinCount;
    private ParkState _state;
    private long _parkCount;
    private long _wakeCount;
    private bool _signaled;

    /// <summary>Creates a parker that spins <paramref name="spinCount"/> rounds before it blocks.</summary>
    public ThreadParker(int spinCount = DefaultSpinCount)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(spinCount);
        _spinCount = spinCount;
    }

    /// <summary>The parked flag, for the layout test.</summary>
    internal ref ParkState State => ref _state;

    /// <summary>True while the owner is blocked (or about to block). For diagnostics and tests.</summary>
    public bool IsParked => Volatile.Read(ref _state.Parked) != 0; // Acquire: a fresh value, not one the JIT kept in a register.

    /// <summary>How many times the owner blocked on the event.</summary>
    public long ParkCount => Interlocked.Read(ref _parkCount); // Atomic 64-bit read on any platform; no ordering needed.

    /// <summary>How many times a waker set the event (each one a potential kernel call).</summary>
    public long WakeCount => Interlocked.Read(ref _wakeCount); // Atomic 64-bit read on any platform; no ordering needed.

    /// <summary>
    /// Waits until <paramref name="condition"/> holds: spins, yields, then blocks until woken. Only the owner calls it.
    /// Whoever makes the condition true must call <see cref="WakeIfParked"/> afterwards.
    /// </summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Wait<TCondition>(ref TCondition condition)
        where TCondition : struct, IWaitCondition
    {
        SpinWait spinner = default;
        while (spinner.Count < _spinCount)
        {
            if (condition.IsSatisfied())
            {
                return;
            }

            // sleep1Threshold -1: never Thread.Sleep(1); past the spin rounds we yield, and past _spinCount we block.
            spinner.SpinOnce(sleep1Threshold: -1);
        }

        while (true)
        {
            // Full fence (Interlocked): Parked = 1 must be visible before the condition is read once more below, or a
            // waker that published just now could read Parked = 0 while we read the old condition, and we would sleep
            // through its item. Pairs with the fence in WakeIfParked.
            Interlocked.Exchange(ref _state.Parked, 1);
            if (condition.IsSatisfied())
            {
                // Release is enough: nothing is ordered against lowering the flag; a waker that still sees 1 sets the
                // event needlessly, which costs one spurious wake-up at most.
                Volatile.Write(ref _state.Parked, 0);
                return;
            }

            // Atomic only (a statistic); the lock in Block orders everything that matters.
            Interlocked.Increment(ref _parkCount);
            Block();

            // Release, as above: lowering the flag late only costs a needless Unpark.
            Volatile.Write(ref _state.Parked, 0);
            if (condition.IsSatisfied())
            {
                return;
            }
        }
    }

    /// <summary>
    /// Called by a producer right after it published something the owner may be waiting for: wakes the owner only if it
    /// is blocked. Costs one full fence and one read on the busy path; no kernel call unless the owner is parked.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void WakeIfParked()
    {
        if (IsParkedAfterPublish())
        {
            Unpark();
        }
    }

    /// <summary>
    /// The waker's half of the handshake, for a waker that decides by more than the flag whether to wake (see
    /// <see cref="SpscRing{T}.WakeProducerAt"/>): call it right after publishing; if it returns false the owner will see
    /// what was published without a wake-up. Whatever the owner wrote before it raised the flag (for example the point at
    /// which it wants to be woken) is visible to the caller once this returns true.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal bool IsParkedAfterPublish()
    {
        // Full fence: the store that published the item must be globally visible before Parked is read (store→load
        // order, which neither x64 nor Arm gives for free). Pairs with the Interlocked.Exchange in Wait.
        Interlocked.MemoryBarrier();

        // Acquire: pairs with the owner's Exchange that raised the flag, so what the owner wrote before it is visible
        // to reads after this one; Volatile also keeps the JIT from hoisting or caching it.
        return Volatile.Read(ref _state.Parked) != 0;
    }

    /// <summary>Wakes the owner unconditionally (used to stop it: its condition must then include the stop flag).</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void Unpark()
    {
        // Atomic only (a statistic: wakers may be many); the lock below orders the signal itself.
        Interlocked.Increment(ref _wakeCount);
        lock (_signalLock)
        {
            _signaled = true;
            Monitor.Pulse(_signalLock);
        }
    }

    /// <summary>Blocks until the signal is set, and resets it (auto-reset). Only the owner calls it.</summary>
    private void Block()
    {
        lock (_signalLock)
        {
            while (!_signaled)
            {
                Monitor.Wait(_signalLock);
            }

            _signaled = false;
        }
    }
}
