using System.Numerics;
using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>
/// The source side of multi-thread compression: compresses guest pages on <c>compress-threads</c> workers and hands
/// every page back, in submission order, as zero, compressed or raw.
/// </summary>
/// <remarks>
/// <para>
/// Ordering: results come back in exactly the order the pages were submitted, busy pages included. A single writer
/// that emits them in that order never puts two copies of one page on the wire out of order, whatever the workers do, and
/// the destination (which applies the copies of one page in stream order) always ends with the newest.
/// </para>
/// <para>
/// Use: one thread (the caller) submits and receives. <see cref="TrySubmit(RamBlock, long)"/> returns false when the
/// caller must first receive and release results (all of the chosen workers' credit is taken); <see cref="Receive"/> waits
/// for the oldest result; <see cref="Release(in PageResult)"/> gives its bytes back. <see cref="Submit(RamBlock, long, PageResultHandler)"/>,
/// <see cref="Drain"/> and <see cref="CompressAll"/> wrap that loop around a handler.
/// </para>
/// <para>
/// Batches: with <see cref="CompressionEngineOptions.BatchPages"/> above 1, <see cref="TrySubmit(RamBlock, ReadOnlySpan{long})"/>
/// hands a worker up to that many pages of one block at once, and <see cref="ReceiveBatch"/> gives them back together
/// (one hand-off, one wake-up, one wait per batch: the page-at-a-time hand-off cost a 2-core migration more CPU in its
/// caller than in a compress worker, docs/PERFORMANCE.md). Single pages are batches of one.
/// </para>
/// <para>
/// Failures: the first failure of any worker stops the engine; the caller's next call joins every thread, frees every
/// buffer and throws the failure (a <see cref="PageException"/> naming the page). <see cref="Dispose"/> may be called at
/// any time, also from another thread while the caller waits inside the engine (the caller then gets an
/// <see cref="ObjectDisposedException"/>). A result's bytes are gone once the engine has freed its buffers; a handler
/// of <see cref="Submit(RamBlock, long, PageResultHandler)"/>, <see cref="Drain"/> or <see cref="CompressAll"/> can always
/// finish reading (a Dispose from another thread waits for it), but a caller that holds results between calls must not
/// read them while another thread disposes the engine.
/// </para>
/// </remarks>
public sealed unsafe partial class CompressionEngine : IDisposable
{
    private readonly CompressionEngineOptions _options;
    private readonly CompressWorker[] _workers;
    private readonly StopSignal _stop = new();
    private readonly CompressionCounters _counters = new();
    private readonly EngineLifetime<CompressWorker> _lifetime;

    // Everything below is the caller's alone (one thread).
    private readonly int _credit;
    private readonly int[] _outstanding;
    private readonly PendingPage[] _order;
    private readonly long _orderMask;
    private readonly AlignedMemoryHandle? _busyPool;
    private readonly int _busyCapacity;
    private readonly int _batch;
    private readonly CompressOutcome[] _busyOutcomes;
    private readonly long[] _busyOffsets;
    private long _submitted;
    private long _received;
    private long _released;
    private long _busySubmitted;
    private long _busyReleased;
    private int _nextWorker;

    /// <summary>Validates <paramref name="options"/>, creates one compressor per worker and starts the workers.</summary>
    /// <param name="options">The parameters; null for QEMU's defaults.</param>
    /// <param name="compressorFactory">
    /// Creates one compressor per worker; null for <see cref="PageCodecs.CreateCompressor"/> with the options' settings.
    /// Not called for the method none. Each compressor must write the configured method.
    /// </param>
    public CompressionEngine(CompressionEngineOptions? options = null, Func<IPageCompressor>? compressorFactory = null)
    {
        options ??= new CompressionEngineOptions();
        options.Validate();
        _options = options;
        _credit = options.RingCapacity;
        _batch = options.BatchPages;
        int threads = options.CompressThreads;
        _outstanding = new int[threads];
        _busyCapacity = options.CompressWaitThread ? 0 : _credit;
        _busyOutcomes = new CompressOutcome[_busyCapacity * _batch];
        _busyOffsets = new long[_busyCapacity * _batch];
        int orderCapacity = (int)BitOperations.RoundUpToPowerOf2((uint)((threads * _credit) + _busyCapacity));
        _order = new PendingPage[orderCapacity];
        _orderMask = orderCapacity - 1;
        _workers = new CompressWorker[threads];
        _lifetime = new EngineLifetime<CompressWorker>(nameof(CompressionEngine), "the compression engine", _workers, _stop, () => _busyPool?.Dispose());

        CompressionSettings settings = options.Compression;
        Func<IPageCompressor>? factory = settings.Method == CompressMethod.None
            ? null
            : compressorFactory ?? (() => PageCodecs.CreateCompressor(settings, options.Zlib));
        int created = 0;
        try
        {
            if (_busyCapacity > 0)
            {
                _busyPool = AlignedMemoryHandle.Allocate((nuint)((long)_busyCapacity * _batch * PageSizes.PageSize), PageSizes.PageSize);
            }

            for (; created < threads; created++)
            {
                IPageCompressor? compressor = factory is null ? null : CreateCompressor(factory, settings);
                try
                {
                    _workers[created] = new CompressWorker(created, _credit, _batch, compressor, _stop);
                }
                catch
                {
                    compressor?.Dispose();
                    throw;
                }

                _stop.Register(_workers[created].Parker);
                _stop.Register(_workers[created].ResultParker);
            }

            foreach (CompressWorker worker in _workers)
            {
                worker.Start(this);
            }

            EngineObserver.Current?.Started(this);
        }
        catch
        {
            _lifetime.Abandon(created);
            throw;
        }
    }

    /// <summary>Stops the workers (pages in flight are dropped), joins them and frees every buffer. Idempotent; any thread.</summary>
    public void Dispose()
    {
        _lifetime.Dispose();
        EngineObserver.Current?.Stopped(this);
    }

    /// <summary>The parameters the engine runs with.</summary>
    public CompressionEngineOptions Options => _options;

    /// <summary>The number of compress workers.</summary>
    public int ThreadCount => _workers.Length;

    /// <summary>Submissions (pages, or batches of pages) whose results have not been received yet.</summary>
    public long InFlight => _submitted - _received;

    /// <summary>The most pages one submission may carry (<see cref="CompressionEngineOptions.BatchPages"/>).</summary>
    public int BatchPages => _batch;

    /// <summary>Results received but not released yet.</summary>
    public long Unreleased => _received - _released;

    /// <summary>A consistent snapshot of the statistics; any thread, any time.</summary>
    internal CompressionStatistics Statistics => _counters.Snapshot();

    /// <summary>The native bytes the engine still owns (0 after it stopped). For tests.</summary>
    internal long NativeBytes
    {
        get
        {
            long total = _busyPool is { IsClosed: false } pool ? (long)pool.Length : 0;
            foreach (CompressWorker? worker in _workers)
            {
                total += worker?.NativeBytes ?? 0;
            }

            return total;
        }
    }

    /// <summary>The parkers the workers wait on. For tests (an idle engine has every worker parked).</summary>
    internal IEnumerable<ThreadParker> WorkerParkers => _workers.Select(w => w.Parker);

    /// <summary>The parkers the caller waits on for results, one per worker. For tests.</summary>
    internal IEnumerable<ThreadParker> ResultParkers => _workers.Select(w => w.ResultParker);

    private static IPageCompressor CreateCompressor(Func<IPageCompressor> factory, CompressionSettings settings)
    {
        IPageCompressor compressor = factory();
        if (compressor.Method != settings.Method || compressor.MaxCompressedLength > CompressWorker.SlotCapacity)
        {
            string method = CompressionSettings.NameOf(compressor.Method);
            compressor.Dispose();
            throw new ArgumentException(
                $"the compressor factory made a {method} compressor with a bound of {compressor.MaxCompressedLength} bytes; " +
                $"the engine needs {CompressionSettings.NameOf(settings.Method)} and at most {CompressWorker.SlotCapacity} bytes",
                nameof(factory));
        }

        return compressor;
    }
}
