using System.Runtime.ExceptionServices;

namespace Engine.Pipeline;

/// <summary>The stop sequence both engines share: join every worker, then free every worker, past any failure.</summary>
internal static class EngineWorkers
{
    /// <summary>Joins every worker thread.</summary>
    public static void JoinAll<TWorker>(TWorker[] workers)
        where TWorker : class, IEngineWorker
    {
        foreach (TWorker worker in workers)
        {
            worker.Join();
        }
    }

    /// <summary>
    /// Frees the first <paramref name="count"/> workers (null entries are workers never created); keeps going past a
    /// failure so every buffer goes back, then throws the first failure.
    /// </summary>
    public static void FreeAll<TWorker>(TWorker?[] workers, int count)
        where TWorker : class, IEngineWorker
    {
        Exception? first = null;
        foreach (TWorker? worker in workers.AsSpan(0, count))
        {
            try
            {
                worker?.Free();
            }
            catch (Exception e)
            {
                first ??= e;
            }
        }

        if (first is not null)
        {
            ExceptionDispatchInfo.Throw(first);
        }
    }
}
