using System.Buffers.Binary;
using Engine.Codecs;

namespace Engine.Tests.Support;

/// <summary>
/// What the chaos codec wrappers inject, shared by every worker of an engine: random delays, a failure at one call, and a
/// record of the allocations each worker thread made between calls.
/// </summary>
internal sealed class ChaosPlan
{
    private int _calls;
    private long _failedPageTag = -1;
    private long _workerAllocatedBytes;

    /// <summary>Upper bound of the random busy-spin before each call (SpinWait iterations); 0 for none.</summary>
    public int MaxSpin { get; init; }

    /// <summary>One call in this many sleeps 1 ms (0: never), so workers fall behind and parkers block.</summary>
    public int SleepOneIn { get; init; }

    /// <summary>A fixed busy-wait per call, in microseconds: a deliberately slow codec.</summary>
    public int FixedMicroseconds { get; init; }

    /// <summary>The call (counted from 0 over all workers) that fails; -1 for none.</summary>
    public int FailAtCall { get; init; } = -1;

    /// <summary>True: the failing call returns a bad status instead of throwing (decompressors: Corrupt).</summary>
    public bool FailWithStatus { get; init; }

    /// <summary>The tag (first 8 bytes, see <see cref="TagOf"/>) of the page whose call failed; -1 if none failed.</summary>
    public long FailedPageTag => Interlocked.Read(ref _failedPageTag);

    /// <summary>Calls so far.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>Bytes the worker threads allocated between two of their calls, once past <see cref="AllocationWatchAfter"/> calls each.</summary>
    public long WorkerAllocatedBytes => Interlocked.Read(ref _workerAllocatedBytes);

    /// <summary>Calls after which each worker starts watching its own allocations; -1: never watch.</summary>
    public int AllocationWatchAfter { get; init; } = -1;

    /// <summary>The tag tests write into the first 8 bytes of a non-zero page (its offset and block index), or -1 if zero.</summary>
    public static long TagOf(ReadOnlySpan<byte> page) => BinaryPrimitives.ReadInt64LittleEndian(page);

    /// <summary>Called by a wrapper on its worker thread before each call; true if this call must fail.</summary>
    public bool BeforeCall(Random random, ref long lastAllocated, ref int localCalls, long tag)
    {
        int call = Interlocked.Increment(ref _calls) - 1;
        if (AllocationWatchAfter >= 0)
        {
            long now = GC.GetAllocatedBytesForCurrentThread();
            if (localCalls > AllocationWatchAfter)
            {
                Interlocked.Add(ref _workerAllocatedBytes, now - lastAllocated);
            }

            lastAllocated = GC.GetAllocatedBytesForCurrentThread();
            localCalls++;
        }

        if (MaxSpin > 0)
        {
            Thread.SpinWait(random.Next(MaxSpin));
        }

        if (SleepOneIn > 0 && random.Next(SleepOneIn) == 0)
        {
            Thread.Sleep(1);
        }

        if (FixedMicroseconds > 0)
        {
            long until = System.Diagnostics.Stopwatch.GetTimestamp() + (FixedMicroseconds * System.Diagnostics.Stopwatch.Frequency / 1_000_000);
            while (System.Diagnostics.Stopwatch.GetTimestamp() < until)
            {
                Thread.SpinWait(20);
            }
        }

        if (call == FailAtCall)
        {
            Interlocked.Exchange(ref _failedPageTag, tag);
            return true;
        }

        return false;
    }
}
