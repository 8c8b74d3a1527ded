namespace Engine.Threading;

/// <summary>
/// Starts the engines' worker threads and keeps count of the ones still running, per owner, so that tests can prove
/// that no thread outlives its engine.
/// </summary>
/// <remarks>
/// Design: a thread is counted from just before it starts until the last instruction of its body (a <c>finally</c>), so a
/// thread stuck anywhere in its loop stays counted. Registration is rare (engine start and stop), so one lock is enough.
/// </remarks>
internal static class WorkerThreads
{
    private static readonly Lock s_lock = new();
    private static readonly Dictionary<object, int> s_liveByOwner = new(ReferenceEqualityComparer.Instance);
    private static int s_live;

    /// <summary>Worker threads of every owner that have not finished yet.</summary>
    public static int LiveCount => Volatile.Read(ref s_live); // Acquire: a fresh value without taking the lock.

    /// <summary>Worker threads of <paramref name="owner"/> that have not finished yet.</summary>
    public static int LiveCountOf(object owner)
    {
        lock (s_lock)
        {
            return s_liveByOwner.GetValueOrDefault(owner);
        }
    }

    /// <summary>Starts a named background thread that runs <paramref name="body"/> for <paramref name="owner"/>.</summary>
    public static Thread Start(object owner, string name, Action body, int maxStackSize = 256 * 1024)
    {
        var thread = new Thread(() => Run(owner, body), maxStackSize)
        {
            Name = name,

            // Background: a leaked (never disposed) engine must not keep the process alive.
            IsBackground = true,
        };

        Add(owner, +1);
        try
        {
            thread.Start();
        }
        catch
        {
            Add(owner, -1);
            throw;
        }

        return thread;
    }

    private static void Run(object owner, Action body)
    {
        try
        {
            body();
        }
        finally
        {
            Add(owner, -1);
        }
    }

    private static void Add(object owner, int delta)
    {
        lock (s_lock)
        {
            int count = s_liveByOwner.GetValueOrDefault(owner) + delta;
            if (count == 0)
            {
                s_liveByOwner.Remove(owner);
            }
            else
            {
                s_liveByOwner[owner] = count;
            }

            s_live += delta;
        }
    }
}
