using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// The source's <see cref="MemoryChecksum"/> of every block, computed while the pages are sent when a core is spare: each
/// 16 MiB chunk is hashed when the migration hands its last dirty page to the sender (the chunk's pages are in cache then),
/// instead of in one pass over all of RAM after the stream ends. A chunk the guest writes after it was hashed is hashed
/// again once the guest is paused. The value is the one-pass value for the memory at the pause (the same chunks, the same
/// digests). Without a spare core (<see cref="HashWhileSendingOn"/>) every chunk is hashed in the pass at the end.
/// </summary>
/// <remarks>
/// <para>
/// Why the policy: while the pages are sent, a hash on the thread pool competes with the sender's busy threads. With a
/// core to spare it runs beside them and the pass after the stream's end is gone; without one (2 cores, 2 compressing
/// channels) it only moves the same CPU into the migration, whose own time then grows by what the pass took
/// (docs/PERFORMANCE.md).
/// </para>
/// <para>
/// Why the value stays exact: a chunk's digest counts only while no page of the chunk was written after its hash began.
/// The dirty log reports every write after its bytes are in memory (<see cref="IDirtyLog"/>), so a write after the hash
/// began is reported by a later sync and its page is then dirty in the migration's bitmap; after every sync each hashed
/// chunk with a dirty page is marked stale (<see cref="Synced"/>). That also drops chunks whose dirty page was reported
/// before the hash (conservative, never wrong). A stale chunk is not hashed again while the guest runs (it may be written
/// again); once the guest is paused, the last sync marks what changed, and stale chunks are hashed as the last round
/// passes them, or at the end (<see cref="Finish"/>) on every core with the chunks never hashed.
/// </para>
/// <para>
/// Design: only the migration thread calls this, as <see cref="PrecopyDriver"/> hands pages over. A passed chunk is
/// hashed on the thread pool (16 MiB, a few milliseconds from cache), so the migration thread goes on feeding the sender
/// meanwhile: on the migration thread itself a hash stops the feeding for longer than multifd none's queued packets
/// last (about a millisecond, docs/PERFORMANCE.md). The states, generations, digests and counters are shared with the
/// pool's hashes and guarded by one lock (a few acquisitions per 16 MiB); a hash writes its digest only if its chunk was
/// neither marked stale nor passed again while it ran (its generation). The list of running hashes is the migration
/// thread's alone. <see cref="Finish"/> and <see cref="Drain"/> wait for every hash, so none
/// outlives the migration or reads memory after it. When a reply is awaited, <see cref="Finish"/> runs on the pool while
/// the migration thread waits for the destination's reply (<see cref="PrecopyDriver"/>), and the migration thread touches
/// nothing here until it has waited for that task.
/// </para>
/// </remarks>
internal sealed class SourceChecksums
{
    private const byte Unhashed = 0;
    private const byte Hashed = 1;
    private const byte Stale = 2;
    private const byte Hashing = 3;

    private readonly RamBlock[] _blocks;
    private readonly DirtyBitmap[] _bitmaps;
    private readonly byte[][] _digests;
    private readonly byte[][] _states;
    private readonly int[][] _generations;
    private readonly List<Task> _hashes = [];
    private readonly Lock _gate = new();
    private int _pendingBlock = -1;
    private int _pendingChunk;
    private int _hashedWhileSending;
    private int _invalidated;
    private int _hashesStarted;

    /// <summary>Tracks <paramref name="blocks"/>, whose dirty pages (still to send) are <paramref name="bitmaps"/>.</summary>
    public SourceChecksums(RamBlock[] blocks, DirtyBitmap[] bitmaps)
    {
        _blocks = blocks;
        _bitmaps = bitmaps;
        _digests = blocks.Select(b => new byte[MemoryChecksum.ChunkCount(b) * MemoryChecksum.DigestSize]).ToArray();
        _states = blocks.Select(b => new byte[MemoryChecksum.ChunkCount(b)]).ToArray();
        _generations = blocks.Select(b => new int[MemoryChecksum.ChunkCount(b)]).ToArray();
    }

    /// <summary>False: nothing is hashed while sending, every chunk in <see cref="Finish"/>'s pass. Set before the first page is handed over.</summary>
    public bool HashWhileSending { get; set; } = true;

    /// <summary>True once the guest is paused: stale chunks may then be hashed again as they are passed.</summary>
    public bool GuestPaused { get; set; }

    /// <summary>Chunks hashed while pages were being sent (counting each hash that counted); any thread may read it.</summary>
    public int HashedWhileSending
    {
        get
        {
            lock (_gate)
            {
                return _hashedWhileSending;
            }
        }
    }

    /// <summary>Hashes handed to the thread pool while sending (each chunk passed clean; counted when handed, not when done).</summary>
    public int HashesStarted
    {
        get
        {
            lock (_gate)
            {
                return _hashesStarted;
            }
        }
    }

    /// <summary>Chunks hashed by <see cref="Finish"/>: never passed clean, or stale at the end.</summary>
    public int HashedAtFinish { get; private set; }

    /// <summary>Times a hashed (or hashing) chunk was marked stale because a sync found it written.</summary>
    public int Invalidated
    {
        get
        {
            lock (_gate)
            {
                return _invalidated;
            }
        }
    }

    /// <summary>
    /// Whether to hash while sending on a machine of <paramref name="processorCount"/> cores when the sender keeps
    /// <paramref name="busyThreads"/> threads busy (<see cref="PageSender.BusyThreads"/>): only with a core to spare.
    /// </summary>
    public static bool HashWhileSendingOn(int processorCount, int busyThreads) => processorCount > busyThreads;

    /// <summary>
    /// The driver handed the pages <paramref name="firstOffset"/> to <paramref name="lastOffset"/> (ascending) of block
    /// <paramref name="blockIndex"/> to the sender: the chunks the batch left behind (and the chunk of the previous batch,
    /// when this one starts elsewhere) are hashed if none of their pages is still dirty.
    /// </summary>
    public void Handed(int blockIndex, long firstOffset, long lastOffset)
    {
        int first = (int)(firstOffset / MemoryChecksum.ChunkSize);
        int last = (int)(lastOffset / MemoryChecksum.ChunkSize);
        if (_pendingBlock >= 0 && (_pendingBlock != blockIndex || _pendingChunk != first))
        {
            Passed(_pendingBlock, _pendingChunk);
        }

        for (int chunk = first; chunk < last; chunk++)
        {
            Passed(blockIndex, chunk);
        }

        _pendingBlock = blockIndex;
        _pendingChunk = last;
    }

    /// <summary>Every bitmap is empty: the chunk of the last batch is passed too.</summary>
    public void AllSent()
    {
        if (_pendingBlock >= 0)
        {
            Passed(_pendingBlock, _pendingChunk);
            _pendingBlock = -1;
        }
    }

    /// <summary>After a sync of the dirty log into the bitmaps: every hashed chunk with a dirty page is stale.</summary>
    public void Synced()
    {
        lock (_gate)
        {
            for (int b = 0; b < _blocks.Length; b++)
            {
                DirtyBitmap bitmap = _bitmaps[b];
                byte[] states = _states[b];
                long pagesPerChunk = MemoryChecksum.ChunkSize / PageSizes.PageSize;
                long page = bitmap.DirtyCount == 0 ? bitmap.PageCount : bitmap.FindNextDirty(0);
                while (page < bitmap.PageCount)
                {
                    int chunk = (int)(page / pagesPerChunk);
                    if (states[chunk] is Hashed or Hashing)
                    {
                        // A hash still running began before this sync: its digest is dropped when it ends.
                        states[chunk] = Stale;
                        _invalidated++;
                    }

                    page = bitmap.FindNextDirty((chunk + 1) * pagesPerChunk);
                }
            }
        }
    }

    /// <summary>Waits for every hash still running (after a failure too: none may read the memory once it is freed).</summary>
    public void Drain()
    {
        foreach (Task hash in _hashes)
        {
            try
            {
                hash.Wait();
            }
            catch (AggregateException)
            {
                // A migration that failed reports its own error; Finish reports a failed hash.
            }
        }

        _hashes.Clear();
    }

    /// <summary>
    /// Each block's checksum, in block order: the chunks not hashed (or stale) are hashed now, on every core. The guest is
    /// paused and every page sent, so the memory is what the destination holds.
    /// </summary>
    public IReadOnlyList<BlockChecksum> Finish()
    {
        Task.WaitAll(_hashes);
        _hashes.Clear();
        var todo = new List<(int Block, int Chunk)>();
        for (int b = 0; b < _blocks.Length; b++)
        {
            for (int chunk = 0; chunk < _states[b].Length; chunk++)
            {
                if (_states[b][chunk] != Hashed)
                {
                    todo.Add((b, chunk));
                }
            }
        }

        Parallel.For(0, todo.Count, i =>
        {
            (int b, int chunk) = todo[i];
            MemoryChecksum.HashChunk(_blocks[b], chunk, _digests[b].AsSpan(chunk * MemoryChecksum.DigestSize, MemoryChecksum.DigestSize));
        });

        foreach ((int b, int chunk) in todo)
        {
            _states[b][chunk] = Hashed;
        }

        HashedAtFinish += todo.Count;
        var checksums = new BlockChecksum[_blocks.Length];
        for (int b = 0; b < _blocks.Length; b++)
        {
            checksums[b] = new BlockChecksum(_blocks[b].Name, MemoryChecksum.Combine(_digests[b]));
        }

        return checksums;
    }

    /// <summary>The migration's cursor left chunk <paramref name="chunk"/> of block <paramref name="blockIndex"/> behind.</summary>
    private void Passed(int blockIndex, int chunk)
    {
        if (!HashWhileSending)
        {
            return;
        }

        int generation;
        lock (_gate)
        {
            byte state = _states[blockIndex][chunk];
            if (state is Hashed or Hashing || (state == Stale && !GuestPaused))
            {
                return;
            }

            // A chunk with pages still to send is hashed when the cursor passes it clean (or at the end).
            DirtyBitmap bitmap = _bitmaps[blockIndex];
            long pagesPerChunk = MemoryChecksum.ChunkSize / PageSizes.PageSize;
            long start = chunk * pagesPerChunk;
            if (bitmap.DirtyCount > 0 && bitmap.FindNextDirty(start) < Math.Min(start + pagesPerChunk, bitmap.PageCount))
            {
                return;
            }

            _states[blockIndex][chunk] = Hashing;
            generation = ++_generations[blockIndex][chunk];
            _hashesStarted++;
        }

        _hashes.Add(Task.Run(() => Hash(blockIndex, chunk, generation)));
    }

    /// <summary>On the thread pool: the digest counts only if no sync marked the chunk stale (or passed it again) meanwhile.</summary>
    private void Hash(int blockIndex, int chunk, int generation)
    {
        Span<byte> digest = stackalloc byte[MemoryChecksum.DigestSize];
        MemoryChecksum.HashChunk(_blocks[blockIndex], chunk, digest);
        lock (_gate)
        {
            if (_generations[blockIndex][chunk] == generation && _states[blockIndex][chunk] == Hashing)
            {
                digest.CopyTo(_digests[blockIndex].AsSpan(chunk * MemoryChecksum.DigestSize, MemoryChecksum.DigestSize));
                _states[blockIndex][chunk] = Hashed;
                _hashedWhileSending++;
            }
        }
    }
}
