using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// A single-stream destination's <see cref="MemoryChecksum"/>, hashed chunk by chunk while the stream is still read: a
/// 16 MiB chunk is hashed on the thread pool once the stream's pages have moved past it, so that the pass at the end
/// hashes only the chunks written since (and the last ones). The value is always the one pass over the final memory.
/// </summary>
/// <remarks>
/// <para>
/// Why the value stays exact: every write of a destination's page is announced before its bytes, on the receiving
/// thread, through the block's <see cref="WrittenPages"/> (<see cref="RamBlock.MarkWritten(long)"/>, or a
/// <see cref="WrittenPages.TryClear"/> that returns true before a page is zeroed), which sets the chunk's write flag. A
/// chunk is handed to the pool only at a barrier: the caller has waited for the decompress workers
/// (<c>DecompressionEngine.WaitForDone</c>), so every write announced before is in memory; the chunk's flag is reset
/// there, then the hash starts. <see cref="Finish"/> runs after every writer has finished and keeps a chunk's early digest
/// only if its flag is still clear: no write began after the barrier, so the bytes hashed are the final ones. A chunk
/// written again (a later iteration, a zero page, a page the pool was reading) is hashed again in the pass at the end.
/// </para>
/// <para>
/// Design: <see cref="Passed"/> and <see cref="Finish"/> run on the receiving thread only; the hashes run one at a time on
/// the pool (a chain of continuations: one core's worth beside the receiving thread), each writing its own chunk's digest
/// and state, which the receiving thread reads only after waiting for the chain. A chunk is hashed early at most once, so a
/// stream of many iterations costs at most one pass more than the pass at the end. <see cref="Drain"/> (also after a
/// failure) waits for the chain, so no hash outlives the migration or reads memory after it is freed. Only for a
/// destination whose writers are the receiving thread and the workers it waits for: not the multifd channels, which
/// write without a barrier the main thread could hold.
/// </para>
/// </remarks>
internal sealed class EarlyChunkHashes
{
    private const byte NotHashed = 0;
    private const byte Scheduled = 1;
    private const byte Hashed = 2;

    private readonly RamBlock[] _blocks;
    private readonly byte[][] _digests;
    private readonly byte[][] _states;
    private readonly int[] _nextToPass;
    private Task _chain = Task.CompletedTask;

    /// <summary>Tracks the blocks of <paramref name="memory"/>, a destination's (each block with <see cref="RamBlock.Written"/>).</summary>
    public EarlyChunkHashes(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _blocks = memory.Blocks.ToArray();
        foreach (RamBlock block in _blocks)
        {
            if (block.Written is null)
            {
                throw new ArgumentException($"RAM block '{block.Name}' keeps no record of its writes", nameof(memory));
            }
        }

        _digests = _blocks.Select(b => new byte[MemoryChecksum.ChunkCount(b) * MemoryChecksum.DigestSize]).ToArray();
        _states = _blocks.Select(b => new byte[MemoryChecksum.ChunkCount(b)]).ToArray();
        _nextToPass = new int[_blocks.Length];
    }

    /// <summary>Chunks whose early digest counted at <see cref="Finish"/>.</summary>
    public int KeptEarly { get; private set; }

    /// <summary>Chunks hashed in the pass at the end: never passed, or written after their early hash.</summary>
    public int HashedAtFinish { get; private set; }

    /// <summary>Chunks hashed early whose digest was dropped because a write began after their barrier.</summary>
    public int Dropped { get; private set; }

    /// <summary>
    /// True when the stream's pages of block <paramref name="block"/> have moved to <paramref name="chunk"/> past chunks not yet
    /// handed over: the caller then reaches a barrier and calls <see cref="Passed"/>. Cheap (the receiving thread's per-page test).
    /// </summary>
    public bool WouldPass(int block, int chunk) => chunk > _nextToPass[block];

    /// <summary>
    /// At a barrier (no write in flight: the caller has waited for its workers), hands every written chunk of block
    /// <paramref name="block"/> below <paramref name="chunk"/> not yet hashed to the pool. Receiving thread only.
    /// </summary>
    public void Passed(int block, int chunk)
    {
        WrittenPages written = _blocks[block].Written!;
        byte[] states = _states[block];
        const long PagesPerChunk = MemoryChecksum.ChunkSize / PageSizes.PageSize;
        for (int c = _nextToPass[block]; c < chunk && c < states.Length; c++)
        {
            if (states[c] != NotHashed || !written.AnyWritten(c * PagesPerChunk, PagesPerChunk))
            {
                continue; // hashed early once already, or nothing written: the pass at the end (zeros are not read)
            }

            // The barrier: every write announced so far is in memory. A write that begins from here on sets the flag again.
            written.ResetChunkWrites(c);
            states[c] = Scheduled;
            int b = block;
            int index = c;
            _chain = _chain.ContinueWith(
                _ =>
                {
                    MemoryChecksum.HashChunk(_blocks[b], index, _digests[b].AsSpan(index * MemoryChecksum.DigestSize, MemoryChecksum.DigestSize));
                    Volatile.Write(ref _states[b][index], Hashed); // read by Finish after it waited for the chain
                },
                CancellationToken.None,
                TaskContinuationOptions.None,
                TaskScheduler.Default);
        }

        _nextToPass[block] = Math.Max(_nextToPass[block], chunk);
    }

    /// <summary>
    /// Each block's checksum, in block order, once every writer has finished: the early digests of chunks not written since
    /// their barrier, the other chunks hashed now on every core. The one-pass value of the final memory.
    /// </summary>
    public IReadOnlyList<BlockChecksum> Finish()
    {
        _chain.Wait();
        var todo = new List<(int Block, int Chunk)>();
        for (int b = 0; b < _blocks.Length; b++)
        {
            WrittenPages written = _blocks[b].Written!;
            for (int c = 0; c < _states[b].Length; c++)
            {
                if (Volatile.Read(ref _states[b][c]) == Hashed && !written.ChunkWrittenSinceReset(c))
                {
                    KeptEarly++;
                    continue;
                }

                if (_states[b][c] == Hashed)
                {
                    Dropped++;
                }

                todo.Add((b, c));
            }
        }

        Parallel.For(0, todo.Count, i =>
        {
            (int b, int c) = todo[i];
            MemoryChecksum.HashChunk(_blocks[b], c, _digests[b].AsSpan(c * MemoryChecksum.DigestSize, MemoryChecksum.DigestSize));
        });
        HashedAtFinish += todo.Count;
        var checksums = new BlockChecksum[_blocks.Length];
        for (int b = 0; b < _blocks.Length; b++)
        {
            checksums[b] = new BlockChecksum(_blocks[b].Name, MemoryChecksum.Combine(_digests[b]));
        }

        return checksums;
    }

    /// <summary>Waits for every early hash (after a failure too: none may read the memory once it is freed).</summary>
    public void Drain()
    {
        try
        {
            _chain.Wait();
        }
        catch (AggregateException)
        {
            // A migration that failed reports its own error; Finish reports a failed hash.
        }
    }
}
