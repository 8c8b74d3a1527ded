using Engine.Threading;

namespace Engine.Tests.Support;

/// <summary>Runs a test body that could deadlock on its own thread, and fails the test if it does not finish in time.</summary>
internal static class Hang
{
    /// <summary>Runs <paramref name="body"/>; throws <see cref="TimeoutException"/> if it takes longer than <paramref name="seconds"/>.</summary>
    public static void Guard(double seconds, Action body)
    {
        Task task = Task.Factory.StartNew(body, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (!((IAsyncResult)task).AsyncWaitHandle.WaitOne(TimeSpan.FromSeconds(seconds)))
        {
            throw new TimeoutException(
                $"the test body did not finish within {seconds} s (deadlock or lost wake-up?); engine worker threads still running: {WorkerThreads.LiveCount}");
        }

        task.GetAwaiter().GetResult();
    }

    /// <summary>Waits up to <paramref name="seconds"/> for <paramref name="condition"/>; false if it never held.</summary>
    public static bool WaitUntil(Func<bool> condition, double seconds = 5)
    {
        DateTime deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }

            Thread.Sleep(5);
        }

        return true;
    }
}
