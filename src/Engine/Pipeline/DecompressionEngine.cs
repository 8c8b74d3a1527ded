using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>
/// The destination side of multi-thread compression: applies zero, raw and compressed pages to destination guest memory
/// on <c>decompress-threads</c> workers, each decompressing straight into the guest page.
/// </summary>
/// <remarks>
/// <para>
/// Ordering: a page is routed by its page number (offset / 4096, modulo the thread count), so every copy of one page goes
/// to the same worker, which applies its work in order: a later copy is always applied after an earlier one, and zero,
/// raw and compressed copies of a page keep their stream order. When a raw or zero page arrives for a worker that has
/// nothing queued, the caller applies it itself (no copy into a slot, no wake-up); that keeps the order too, since the
/// worker has finished every earlier copy.
/// </para>
/// <para>
/// Use: one thread (the stream reader) submits; the payload is copied into a worker-owned buffer, so the caller's buffer
/// is free again when the call returns. A full worker makes the caller wait until that worker's ring is half empty
/// (one park per half ring rather than a wait per page; see <c>WaitForRoom</c>). <see cref="WaitForDone"/> is QEMU's
/// <c>wait_for_decompress_done</c>: call it at every end of section.
/// </para>
/// <para>
/// Failures: the first page that fails stops the engine; the caller's next call joins every thread, frees every buffer
/// and throws a <see cref="PageException"/> naming the block, the offset and the <see cref="DecompressStatus"/>.
/// <see cref="Dispose"/> may be called at any time, from any thread.
/// </para>
/// </remarks>
public sealed unsafe partial class DecompressionEngine : IDisposable
{
    private readonly DecompressionEngineOptions _options;
    private readonly DecompressWorker[] _workers;
    private readonly ThreadParker _callerParker = new();
    private readonly StopSignal _stop = new();
    private readonly EngineLifetime<DecompressWorker> _lifetime;
    private readonly int _refillLevel;
    private long _directPages;

    /// <summary>Validates <paramref name="options"/>, creates one decompressor per worker and starts the workers.</summary>
    /// <param name="options">The parameters; null for QEMU's defaults.</param>
    /// <param name="decompressorFactory">
    /// Creates one decompressor per worker; null for <see cref="PageCodecs.CreateDecoder"/> with the options' method,
    /// strictness and zlib implementation (it tells zlib from zstd by each payload's first bytes).
    /// </param>
    public DecompressionEngine(DecompressionEngineOptions? options = null, Func<IPageDecompressor>? decompressorFactory = null)
    {
        options ??= new DecompressionEngineOptions();
        options.Validate();
        _options = options;
        int threads = options.DecompressThreads;
        _workers = new DecompressWorker[threads];
        _lifetime = new EngineLifetime<DecompressWorker>(nameof(DecompressionEngine), "the decompression engine", _workers, _stop);
        _refillLevel = options.RingCapacity / 2;
        _stop.Register(_callerParker);

        Func<IPageDecompressor> factory = decompressorFactory
            ?? (() => PageCodecs.CreateDecoder(options.Method, options.Strict, options.Zlib));
        int created = 0;
        try
        {
            for (; created < threads; created++)
            {
                IPageDecompressor decompressor = factory();
                try
                {
                    _workers[created] = new DecompressWorker(created, options.RingCapacity, decompressor, _callerParker, _stop);
                }
                catch
                {
                    decompressor.Dispose();
                    throw;
                }

                _stop.Register(_workers[created].Parker);
            }

            foreach (DecompressWorker worker in _workers)
            {
                worker.Start(this);
            }
        }
        catch
        {
            _lifetime.Abandon(created);
            throw;
        }
    }

    /// <summary>Stops the workers (queued pages are dropped), joins them and frees every buffer. Idempotent; any thread.</summary>
    public void Dispose()
    {
        _lifetime.Dispose();
    }

    /// <summary>The parameters the engine runs with.</summary>
    public DecompressionEngineOptions Options => _options;

    /// <summary>The number of decompress workers.</summary>
    public int ThreadCount => _workers.Length;

    /// <summary>Pages written to guest memory so far (by the workers, and by the caller for pages of idle workers). Any thread.</summary>
    public long AppliedPages
    {
        get
        {
            // Acquire: pairs with the caller's release store in ApplyDirect.
            long total = Volatile.Read(ref _directPages);
            foreach (DecompressWorker worker in _workers)
            {
                total += worker.AppliedPages;
            }

            return total;
        }
    }

    /// <summary>The native bytes the engine still owns (0 after it stopped). For tests.</summary>
    internal long NativeBytes
    {
        get
        {
            long total = 0;
            foreach (DecompressWorker? worker in _workers)
            {
                total += worker?.NativeBytes ?? 0;
            }

            return total;
        }
    }

    /// <summary>
    /// How far a full worker ring must drain before the caller refills it: half the ring (0 for a ring of one slot).
    /// </summary>
    internal int RefillLevel => _refillLevel;

    /// <summary>The parker the caller waits on (for room in a worker's ring, and in <see cref="WaitForDone"/>). For tests.</summary>
    internal ThreadParker CallerParker => _callerParker;

    /// <summary>The parkers the workers wait on. For tests.</summary>
    internal IEnumerable<ThreadParker> WorkerParkers => _workers.Select(w => w.Parker);

    /// <summary>The worker that applies every copy of the page at <paramref name="offset"/>.</summary>
    internal int WorkerOf(long offset) => (int)((ulong)(offset >> PageSizes.PageShift) % (ulong)_workers.Length);
}
