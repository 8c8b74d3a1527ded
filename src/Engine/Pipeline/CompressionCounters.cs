namespace Engine.Pipeline;

/// <summary>
/// The counters behind <see cref="CompressionStatistics"/>: written by the engine's caller thread on every result, read as
/// a consistent snapshot from any thread at any time.
/// </summary>
/// <remarks>
/// Design: a sequence lock with one writer. The writer makes <c>_version</c> odd (full fence, so no counter store can
/// be seen before it), updates the counters with release stores, then makes the version even again (release). A reader
/// reads the version, the counters (acquire each) and the version again, and retries unless both reads gave the same
/// even value; a snapshot therefore never mixes two updates, and no 64-bit value can be torn even on a 32-bit runtime.
/// The writer never waits; one Interlocked per page is its whole cost.
/// </remarks>
internal sealed class CompressionCounters
{
    private long _version;
    private long _pages;
    private long _busy;
    private long _compressedSize;
    private long _zeroPages;
    private long _normalPages;

    /// <summary>The bytes QEMU counts for one compressed record besides its payload: the <c>be32</c> length.</summary>
    public const int CompressedRecordOverhead = sizeof(int);

    /// <summary>Counts one result. Only the engine's caller thread calls it.</summary>
    public void Add(PageResultKind kind, int length, bool busy)
    {
        long version = _version;

        // Full fence: the odd version must be visible before any counter changes, or a reader could pair new counters
        // with the old even version.
        Interlocked.Exchange(ref _version, version + 1);

        // Release stores: paired with the reader's acquire loads, a reader that sees a new counter value also sees the
        // odd version stored before it, and so rereads a different version and retries.
        switch (kind)
        {
            case PageResultKind.Zero:
                Volatile.Write(ref _zeroPages, _zeroPages + 1);
                break;
            case PageResultKind.Compressed:
                Volatile.Write(ref _pages, _pages + 1);
                Volatile.Write(ref _compressedSize, _compressedSize + length + CompressedRecordOverhead);
                break;
            default:
                Volatile.Write(ref _normalPages, _normalPages + 1);
                break;
        }

        if (busy)
        {
            Volatile.Write(ref _busy, _busy + 1);
        }

        // Release: the counters are visible before the even version that vouches for them.
        Volatile.Write(ref _version, version + 2);
    }

    /// <summary>A consistent snapshot. Any thread; never blocks the writer.</summary>
    public CompressionStatistics Snapshot()
    {
        SpinWait spinner = default;
        while (true)
        {
            // Acquire: the counter reads below cannot move above this read.
            long before = Volatile.Read(ref _version);
            if ((before & 1) == 0)
            {
                // Acquire each: the second version read cannot move above them.
                var snapshot = new CompressionStatistics
                {
                    Pages = Volatile.Read(ref _pages),
                    Busy = Volatile.Read(ref _busy),
                    CompressedSize = Volatile.Read(ref _compressedSize),
                    ZeroPages = Volatile.Read(ref _zeroPages),
                    NormalPages = Volatile.Read(ref _normalPages),
                };
                if (Volatile.Read(ref _version) == before)
                {
                    return snapshot;
                }
            }

            spinner.SpinOnce(sleep1Threshold: -1);
        }
    }
}
