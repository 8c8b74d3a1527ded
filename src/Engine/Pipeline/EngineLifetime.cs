using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;

namespace Engine.Pipeline;

/// <summary>
/// How both engines stop, the one copy: on the first failure or on Dispose, join every worker and free every buffer,
/// once; the caller's next call throws the first failure (or "disposed").
/// </summary>
/// <remarks>
/// Design: the stop flag (<see cref="StopSignal"/>) is raised by any thread; whoever raises it, and the caller when it
/// notices it, calls <see cref="Shutdown"/>, which runs once under a lock (a second caller waits for the first) and
/// frees the buffers only after every worker has been joined and the caller is out of the <see cref="Gate"/>.
/// <c>_freed</c> goes from 0 to 1 once, with release, before any buffer is freed; readers of result bytes check it with
/// acquire. The gate is the caller's (one thread); a stopper only waits on it.
/// </remarks>
internal sealed class EngineLifetime<TWorker>
    where TWorker : class, IEngineWorker
{
    private readonly Lock _shutdownLock = new();
    private readonly TWorker[] _workers;
    private readonly string _engineName;
    private readonly string _description;
    private readonly Action? _freeMore;
    private CallerGate _gate;
    private int _freed;

    /// <param name="engineName">The engine's type name, for <see cref="ObjectDisposedException"/>.</param>
    /// <param name="description">The engine in words ("the compression engine").</param>
    /// <param name="workers">The engine's workers (entries filled as they are created).</param>
    /// <param name="stop">The engine's stop signal.</param>
    /// <param name="freeMore">Frees the engine's own buffers, after the workers'; null if it has none.</param>
    public EngineLifetime(string engineName, string description, TWorker[] workers, StopSignal stop, Action? freeMore = null)
    {
        _engineName = engineName;
        _description = description;
        _workers = workers;
        Stop = stop;
        _freeMore = freeMore;
    }

    /// <summary>The engine's stop signal.</summary>
    public StopSignal Stop { get; }

    /// <summary>The caller's gate: entered while the caller touches the engine's buffers. Used in place (a ref).</summary>
    public ref CallerGate Gate => ref _gate;

    /// <summary>True once the buffers are (being) freed. Acquire: pairs with the release store in <see cref="Shutdown"/>.</summary>
    public bool IsFreed => Volatile.Read(ref _freed) != 0;

    /// <summary>Stops the workers, joins them and frees every buffer. Idempotent; any thread.</summary>
    public void Dispose()
    {
        Stop.Stop();
        Shutdown();
    }

    /// <summary>The caller's check at each step: throws the first failure (or "disposed") once the engine is stopping.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void ThrowIfStopped()
    {
        if (Stop.IsStopRequested)
        {
            HandleStop();
        }
    }

    /// <summary>The caller noticed the stop flag: finish stopping, then throw the first failure (or "disposed").</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    public void HandleStop()
    {
        Shutdown();
        if (Stop.Fault is Exception fault)
        {
            ExceptionDispatchInfo.Throw(fault);
        }

        throw new ObjectDisposedException(_engineName, $"{_description} was disposed");
    }

    /// <summary>A constructor that failed after starting <paramref name="created"/> workers: stop, join and free them.</summary>
    public void Abandon(int created)
    {
        Stop.Stop();
        foreach (TWorker worker in _workers.AsSpan(0, created))
        {
            worker.Join();
        }

        Volatile.Write(ref _freed, 1);
        FreeBuffers(created);
    }

    /// <summary>Joins every worker and frees every buffer, once; a second caller waits until the first is done.</summary>
    public void Shutdown()
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
                // Dispose from another thread may race with the caller copying into, or reading, the buffers.
                _gate.WaitUntilOut();

                // Release: result readers check this flag with acquire; raised before the buffers go.
                Volatile.Write(ref _freed, 1);
                FreeBuffers(_workers.Length);
            }
        }
    }

    /// <summary>Frees the first <paramref name="count"/> workers' codecs and buffers, then the engine's own; keeps going past a failure.</summary>
    private void FreeBuffers(int count)
    {
        try
        {
            EngineWorkers.FreeAll(_workers, count);
        }
        finally
        {
            _freeMore?.Invoke();
        }
    }
}
