using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Engine.Pipeline;

/// <summary>Stopping: on the first failure or on Dispose, join every thread and free every buffer, once.</summary>
public sealed unsafe partial class CompressionEngine
{
    /// <summary>Stops the workers (pages in flight are dropped), joins them and frees every buffer. Idempotent; any thread.</summary>
    public void Dispose()
    {
        _stop.Stop();
        Shutdown();
        EngineObserver.Current?.Stopped(this);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private void ThrowIfStopped()
    {
        if (_stop.IsStopRequested)
        {
            HandleStop();
        }
    }

    /// <summary>The caller noticed the stop flag: finish stopping, then throw the first failure (or "disposed").</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void HandleStop()
    {
        Shutdown();
        if (_stop.Fault is Exception fault)
        {
            ExceptionDispatchInfo.Throw(fault);
        }

        throw new ObjectDisposedException(nameof(CompressionEngine), "the compression engine was disposed");
    }

    /// <summary>Joins every worker and frees every buffer, once; a second caller waits until the first is done.</summary>
    private void Shutdown()
    {
        lock (_shutdownLock)
        {
            // Under the lock, a plain read would do; Volatile keeps the reads of _freed uniform.
            if (Volatile.Read(ref _freed) != 0)
            {
                return;
            }

            try
            {
                EngineWorkers.JoinAll(_workers);
            }
            finally
            {
                // Dispose from another thread may race with the caller copying a busy page into the pool.
                _gate.WaitUntilOut();

                // Release: PageResult.Bytes (ThrowIfNotLive) reads this flag with acquire; raised before the buffers go.
                Volatile.Write(ref _freed, 1);
                FreeBuffers(_workers.Length);
            }
        }
    }

    /// <summary>Frees the first <paramref name="count"/> workers' codecs and buffers and the busy pool; keeps going past a failure.</summary>
    private void FreeBuffers(int count)
    {
        try
        {
            EngineWorkers.FreeAll(_workers, count);
        }
        finally
        {
            _busyPool?.Dispose();
        }
    }
}
