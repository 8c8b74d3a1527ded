using System.Runtime.CompilerServices;

namespace Engine.Memory;

/// <summary>
/// A destination's 2 MiB regions of one RAM block, each populated once, in one call, before its first page is written:
/// the writers of a block in 2 MiB pages (<see cref="GuestMemory.AddReceivingBlock"/>) call <see cref="Prepare(long)"/> before
/// they write a page.
/// </summary>
/// <remarks>
/// <para>
/// Why: in 4 KiB pages every page a destination writes costs a page fault (about 1.5 µs of kernel time each on the
/// measured machine, 58,561 of them for a 512 MiB guest: most of <c>engine incoming --from file:</c>'s time). In 2 MiB pages
/// a region costs one fault. But when two threads first write into one region at once (two multifd channels, whose
/// packets alternate every 512 KiB; a decompress worker and the caller), the kernel allocates and zeroes a huge page for
/// each and keeps one. So the first writer of a region claims it and populates it (<c>MADV_POPULATE_WRITE</c>, one huge
/// page where the kernel has one, else its 4 KiB pages); a writer that finds it claimed waits until it is populated.
/// </para>
/// <para>
/// When huge pages are slow, the block goes back to 4 KiB pages: on the measured machine (a VM whose guest returns free
/// memory to its host, free page reporting) a 2 MiB page the guest kernel took from memory it had reported free faults on
/// the host page by page while it is zeroed: about 5 ms per region instead of 0.05–0.2 ms, where 4 KiB faults for all of
/// a region's 512 pages cost about 0.8 ms. So once <see cref="SlowPopulatesBeforeFallback"/> populates have each taken
/// longer than <see cref="SlowPopulate"/>, the rest of the block is advised <c>MADV_NOHUGEPAGE</c> and its regions are
/// no longer populated: its pages fault in one by one as they are written (docs/PERFORMANCE.md, "The destination's memory
/// in 2 MiB regions again").
/// </para>
/// <para>
/// The state of a region only goes untouched → claimed → ready; a ready region costs a writer one plain read. Populating
/// never changes what the memory holds, so a region is correct whether or not the advice worked (a kernel without
/// <c>MADV_POPULATE_WRITE</c>, before Linux 5.14, then faults the pages in as they are written).
/// </para>
/// </remarks>
internal sealed unsafe class HugeRegions
{
    /// <summary>log2 of the region size, 2 MiB (the x86-64 huge page).</summary>
    public const int RegionShift = 21;

    private const int Untouched = 0;
    private const int Claimed = 1;
    private const int Ready = 2;

    /// <summary>A populate that takes longer than this is slow: 4 KiB faults for all 512 pages of a region take about 0.8 ms.</summary>
    public static readonly TimeSpan SlowPopulate = TimeSpan.FromMilliseconds(1);

    /// <summary>After this many slow populates the block falls back to 4 KiB pages (one could be a preemption).</summary>
    public const int SlowPopulatesBeforeFallback = 2;

    private static readonly long s_slowTicks = (long)(SlowPopulate.TotalSeconds * System.Diagnostics.Stopwatch.Frequency);

    private readonly byte* _base;
    private readonly long _size;
    private readonly int[] _state;
    private int _slowPopulates;
    private int _fallenBack;

    /// <summary>The regions of the <paramref name="size"/> bytes at <paramref name="memory"/> (2 MiB aligned, none written yet).</summary>
    public HugeRegions(byte* memory, long size)
    {
        if (((nuint)memory & ((1u << RegionShift) - 1)) != 0)
        {
            throw new ArgumentException("the memory must start on a 2 MiB boundary", nameof(memory));
        }

        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        _base = memory;
        _size = size;
        _state = new int[(size + (1L << RegionShift) - 1) >> RegionShift];
    }

    /// <summary>The number of regions.</summary>
    public int Count => _state.Length;

    /// <summary>True once the block went back to 4 KiB pages: its regions are no longer populated.</summary>
    public bool FellBack => Volatile.Read(ref _fallenBack) != 0;

    /// <summary>The number of populates that took longer than <see cref="SlowPopulate"/>.</summary>
    public int SlowPopulates => Volatile.Read(ref _slowPopulates);

    /// <summary>True once the region of <paramref name="offset"/> has been populated (or its writer was told to go ahead without).</summary>
    public bool IsReady(long offset) => Volatile.Read(ref _state[offset >> RegionShift]) == Ready;

    /// <summary>Makes sure the region holding <paramref name="offset"/> (inside the block) is populated before the caller writes to it (any thread).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Prepare(long offset)
    {
        int region = (int)(offset >> RegionShift);
        if (Volatile.Read(ref _state[region]) != Ready)
        {
            PrepareSlow(region);
        }
    }

    /// <summary>As <see cref="Prepare(long)"/> for every region that the <paramref name="length"/> bytes from <paramref name="offset"/> touch.</summary>
    public void Prepare(long offset, long length)
    {
        if (length <= 0)
        {
            return;
        }

        int last = (int)((offset + length - 1) >> RegionShift);
        for (int region = (int)(offset >> RegionShift); region <= last; region++)
        {
            if (Volatile.Read(ref _state[region]) != Ready)
            {
                PrepareSlow(region);
            }
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private void PrepareSlow(int region)
    {
        if (Interlocked.CompareExchange(ref _state[region], Claimed, Untouched) == Untouched)
        {
            try
            {
                long start = (long)region << RegionShift;
                long length = Math.Min(1L << RegionShift, _size - start);
                if (OperatingSystem.IsLinux() && !FellBack)
                {
                    // Advice: a failure (an old kernel, no memory for a huge page) leaves the pages to fault in as written.
                    long before = System.Diagnostics.Stopwatch.GetTimestamp();
                    _ = Interop.Libc.madvise(_base + start, (nuint)length, Interop.Libc.MADV_POPULATE_WRITE);
                    Timed(System.Diagnostics.Stopwatch.GetTimestamp() - before);
                }
            }
            finally
            {
                Volatile.Write(ref _state[region], Ready);
            }

            return;
        }

        // Another writer is populating it: wait (a huge page's fault takes tens of microseconds, a slow one milliseconds).
        var spin = default(SpinWait);
        while (Volatile.Read(ref _state[region]) != Ready)
        {
            spin.SpinOnce();
        }
    }

    /// <summary>
    /// Whether slow populates make the block fall back to 4 KiB pages (true). Tests that check what a populate makes
    /// resident turn it off: on a machine whose huge pages are slow the fall-back would otherwise come at a time of the
    /// machine's choosing.
    /// </summary>
    internal bool FallBackWhenSlow { get; set; } = true;

    /// <summary>Records a populate's duration (Stopwatch ticks) and falls back to 4 KiB pages after enough slow ones.</summary>
    internal void Timed(long ticks)
    {
        if (ticks <= s_slowTicks || !FallBackWhenSlow || Interlocked.Increment(ref _slowPopulates) != SlowPopulatesBeforeFallback)
        {
            return;
        }

        // Once, by the thread whose populate made the count: regions already in 2 MiB pages keep them; new faults take 4 KiB.
        Volatile.Write(ref _fallenBack, 1);
        if (OperatingSystem.IsLinux())
        {
            _ = Interop.Libc.madvise(_base, (nuint)_size, Interop.Libc.MADV_NOHUGEPAGE);
        }
    }
}
