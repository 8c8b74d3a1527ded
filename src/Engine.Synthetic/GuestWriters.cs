using System.Diagnostics;
using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;

namespace Engine.Synthetic;

/// <summary>
/// Writer threads that keep dirtying a synthetic guest's memory at a set rate, with a hot set, changing bytes the way
/// programs do (counters, pointers, short strings, small runs), and marking each block's dirty log after every write.
/// </summary>
/// <remarks>
/// <para>
/// Design: the threads are owned: <see cref="Start"/> creates them, <see cref="Dispose"/> stops and joins them. Shared state
/// is three fields. <c>_throttle</c> (a double written by the migration, read by the writers with <see cref="Volatile"/>; a
/// stale value for one pacing step is harmless). <c>_pauseRequested</c> and <c>_parked</c> live under <c>_gate</c>: a writer
/// checks the flag (volatile read) before every write, and when it is set enters the lock, counts itself parked and waits.
/// <see cref="Pause"/> returns only when every writer is parked, so after it no byte of guest memory changes: this is the
/// migration's "stop the guest", and what makes the source checksum at the pause meaningful.
/// </para>
/// <para>
/// Page choice: with probability <see cref="GuestWriterOptions.HotWriteShare"/> a page of the hot set, else any page. The
/// hot set is <see cref="GuestWriterOptions.HotFraction"/> of the pages, in chunks of 16 pages (64 KiB, like heap arenas and
/// stacks) spread evenly over the whole guest.
/// </para>
/// </remarks>
public sealed unsafe class GuestWriters : IGuestControl, IDisposable
{
    private const int PageSize = PageSizes.PageSize;
    private const int HotChunkPages = 16;

    private readonly GuestRegion[] _regions;
    private readonly long[] _regionStarts;   // first global page number of each region
    private readonly long _totalPages;
    private readonly SyntheticContent _content;
    private readonly GuestWriterOptions _options;
    private readonly long _hotChunks;
    private readonly long _chunkStride;
    private readonly object _gate = new();
    private readonly List<Thread> _threads = new();

    private double _throttle;
    private volatile bool _pauseRequested;
    private volatile bool _stopRequested;
    private int _parked;
    private int _running;
    private long _writes;
    private Exception? _failure;

    /// <summary>Creates writers over <paramref name="regions"/>; they do nothing until <see cref="Start"/>.</summary>
    public GuestWriters(IReadOnlyList<GuestRegion> regions, SyntheticContent content, GuestWriterOptions options)
    {
        ArgumentNullException.ThrowIfNull(regions);
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (regions.Count == 0)
        {
            throw new ArgumentException("a guest needs at least one RAM block", nameof(regions));
        }

        _regions = regions.ToArray();
        _regionStarts = new long[_regions.Length];
        for (int i = 0; i < _regions.Length; i++)
        {
            _regionStarts[i] = _totalPages;
            _totalPages += _regions[i].PageCount;
        }

        _content = content;
        _options = options;
        long chunks = (_totalPages + HotChunkPages - 1) / HotChunkPages;
        _hotChunks = Math.Max(1, (long)Math.Round(chunks * options.HotFraction));
        _chunkStride = Math.Max(1, chunks / _hotChunks);
    }

    /// <summary>
    /// The throttle (auto-converge): the share of time the guest's vCPUs are kept from running, 0 to 0.99; the write rate is
    /// multiplied by (1 - throttle).
    /// </summary>
    public double Throttle
    {
        get => Volatile.Read(ref _throttle);
        set
        {
            if (!(value >= 0 && value <= 0.99))
            {
                throw new ArgumentOutOfRangeException(nameof(value), value, "the throttle is a share of time from 0 to 0.99");
            }

            Volatile.Write(ref _throttle, value); // writers pick it up at their next pacing step
        }
    }

    /// <inheritdoc />
    void IGuestControl.Throttle(double fraction) => Throttle = fraction;

    /// <summary>Page writes performed so far, all threads.</summary>
    public long Writes => Interlocked.Read(ref _writes);

    /// <summary>Whether the writers are paused (after <see cref="Pause"/>, until <see cref="Resume"/>).</summary>
    public bool IsPaused => _pauseRequested;

    /// <summary>The first exception a writer thread died of, if any (a bug; writers do not fail by design).</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>Starts the writer threads.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_threads.Count != 0)
            {
                throw new InvalidOperationException("the writers are already started");
            }

            ObjectDisposedException.ThrowIf(_stopRequested, this);
            for (int i = 0; i < _options.Threads; i++)
            {
                int index = i;
                var thread = new Thread(() => Run(index))
                {
                    IsBackground = true,
                    Name = $"guest-writer-{i}",
                };
                _threads.Add(thread);
                _running++;
            }
        }

        foreach (Thread thread in _threads)
        {
            thread.Start();
        }
    }

    /// <summary>
    /// Stops the guest: returns once no writer will touch memory until <see cref="Resume"/>. Idempotent; works before
    /// <see cref="Start"/> too (writers then start parked).
    /// </summary>
    public void Pause()
    {
        lock (_gate)
        {
            _pauseRequested = true;
            while (_parked < _running)
            {
                Monitor.Wait(_gate);
            }
        }
    }

    /// <summary>Lets the writers run again.</summary>
    public void Resume()
    {
        lock (_gate)
        {
            _pauseRequested = false;
            Monitor.PulseAll(_gate);
        }
    }

    /// <summary>Stops and joins the writer threads.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            _stopRequested = true;
            Monitor.PulseAll(_gate);
        }

        foreach (Thread thread in _threads)
        {
            thread.Join();
        }
    }

    private void Run(int index)
    {
        try
        {
            var rng = new SplitMix64(SplitMix64.Mix(_options.Seed, (ulong)index + 1));
            long frequency = Stopwatch.Frequency;
            var pacer = new WritePacer(_options.PagesPerSecond / _options.Threads, frequency, Stopwatch.GetTimestamp());
            while (!_stopRequested)
            {
                if (_pauseRequested)
                {
                    Park();
                    pacer.Restart(Stopwatch.GetTimestamp());
                    continue;
                }

                int allowed = pacer.Take(Stopwatch.GetTimestamp(), Volatile.Read(ref _throttle));
                if (allowed == 0)
                {
                    // Ahead of schedule. A 1 ms sleep is the finest the OS offers; the pacer's credit evens it out.
                    Thread.Sleep(1);
                    continue;
                }

                for (int i = 0; i < allowed && !_pauseRequested; i++)
                {
                    WriteOnePage(ref rng);
                }
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _failure, e, null);
        }
        finally
        {
            lock (_gate)
            {
                _running--;
                Monitor.PulseAll(_gate); // a Pause waiting for this thread must not wait for ever
            }
        }
    }

    private void Park()
    {
        lock (_gate)
        {
            _parked++;
            Monitor.PulseAll(_gate);
            while (_pauseRequested && !_stopRequested)
            {
                Monitor.Wait(_gate);
            }

            _parked--;
        }
    }

    private void WriteOnePage(ref SplitMix64 rng)
    {
        long global = ChoosePage(ref rng);
        int region = FindRegion(global);
        GuestRegion r = _regions[region];
        long page = global - _regionStarts[region];
        byte* p = r.BaseAddress + (page * PageSize);
        Mutate(p, ref rng);

        // After the bytes: the dirty log's fence publishes them before the bit (see DirtyBitmap).
        r.DirtyLog.MarkDirty(page);
        Interlocked.Increment(ref _writes);
    }

    /// <summary>Whether global page <paramref name="page"/> is in the hot set.</summary>
    internal bool IsHot(long page)
    {
        long chunk = page / HotChunkPages;
        return chunk % _chunkStride == 0 && chunk / _chunkStride < _hotChunks;
    }

    /// <summary>Threads still running (tests check none outlives <see cref="Dispose"/>).</summary>
    internal int RunningThreads
    {
        get
        {
            lock (_gate)
            {
                return _running;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal long ChoosePage(ref SplitMix64 rng)
    {
        if (rng.NextDouble() < _options.HotWriteShare)
        {
            long chunk = (long)(rng.Next() % (ulong)_hotChunks);
            long page = (chunk * _chunkStride * HotChunkPages) + rng.NextInt(HotChunkPages);
            if (page < _totalPages)
            {
                return page;
            }
        }

        return (long)(rng.Next() % (ulong)_totalPages);
    }

    private int FindRegion(long global)
    {
        // Few blocks (a guest has one to a handful): a linear scan beats a binary search.
        int i = _regionStarts.Length - 1;
        while (_regionStarts[i] > global)
        {
            i--;
        }

        return i;
    }

    private void Mutate(byte* page, ref SplitMix64 rng)
    {
        // What programs do to a page: bump a counter, store a pointer, write a short string, fill a few fields, free a
        // small object (zero it). Never a whole page of fresh random bytes.
        int roll = rng.NextInt(100);
        int slot = rng.NextInt(PageSize / 8);
        ulong* words = (ulong*)page;
        if (roll < 40)
        {
            words[slot]++;
        }
        else if (roll < 65)
        {
            words[slot] = _content.HeapPointer(ref rng);
        }
        else if (roll < 85)
        {
            int at = rng.NextInt(PageSize - 16);
            _content.WriteWord(new Span<byte>(page + at, 16), ref rng);
        }
        else if (roll < 95)
        {
            int count = 2 + rng.NextInt(7);
            for (int i = 0; i < count && slot + i < PageSize / 8; i++)
            {
                words[slot + i] = (ulong)rng.NextInt(4096);
            }
        }
        else
        {
            int at = rng.NextInt(PageSize / 64) * 64;
            new Span<byte>(page + at, 64).Clear();
        }
    }
}
