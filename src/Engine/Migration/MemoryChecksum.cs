using System.Collections.Concurrent;
using System.IO.Hashing;
using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// XXH128 of a RAM block's bytes, as lower-case hex: what source and destination compare at the end. A check against
/// transfer and engine faults, not against an adversary (TLS authenticates the peer); chosen over SHA-256 because it
/// runs at memory speed (SHA-256 took 12% of a migration's CPU, docs/PERFORMANCE.md).
/// </summary>
/// <remarks>
/// The value is a tree of depth one: the XXH128 of the XXH128 digests of the block's 16 MiB chunks, in order. So the
/// chunks hash on every core, and a source hashes each chunk while its pages are still in cache
/// (<see cref="SourceChecksums"/>), with the same value as one pass over the block.
/// </remarks>
internal static class MemoryChecksum
{
    /// <summary>The name of the algorithm, as the checksum reply and the sidecar file spell it.</summary>
    public const string Algorithm = "xxh128";

    /// <summary>The block is hashed in chunks of this many bytes, on all cores; the checksum is the XXH128 of their digests.</summary>
    public const int ChunkSize = 16 << 20;

    /// <summary>The bytes of one chunk's digest.</summary>
    public const int DigestSize = 16;

    private static readonly ConcurrentDictionary<int, byte[]> s_zeroDigests = new();

    /// <summary>
    /// Whether a partly written chunk is hashed by runs (<see cref="HashChunk(RamBlock, int, Span{byte}, bool)"/>): only where
    /// the code is compiled ahead of time (Native AOT, the shipped command). Under the JIT the streaming code's first calls
    /// in a fresh process run unoptimized, and the destination took 0.1-0.5 s more CPU than it saved (docs/PERFORMANCE.md).
    /// </summary>
    private static readonly bool s_hashByRuns = !System.Runtime.CompilerServices.RuntimeFeature.IsDynamicCodeCompiled;

    /// <summary>Zeros streamed into a chunk's hash in place of its unwritten pages (64 KiB: a few calls per 2 MiB, in cache).</summary>
    private static readonly byte[] s_zeros = new byte[64 << 10];

    /// <summary>XXH128 of <see cref="ChunkSize"/> zero bytes.</summary>
    private static readonly byte[] s_zeroChunkDigest = Convert.FromHexString("14d914cac1f4c1b1c4979470a1b529a1");

    /// <summary>
    /// The checksum of <paramref name="block"/>: the XXH128 of the XXH128 digests of its 16 MiB chunks, in order (a tree
    /// of depth one, so the chunks hash on every core). The caller makes sure nothing writes to the block meanwhile.
    /// </summary>
    public static string Of(RamBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        int chunks = ChunkCount(block);
        byte[] digests = new byte[chunks * DigestSize];
        Parallel.For(0, chunks, i => HashChunk(block, i, digests.AsSpan(i * DigestSize, DigestSize)));
        return Combine(digests);
    }

    /// <summary>Every block's checksum, in block order, as (name, checksum).</summary>
    public static IReadOnlyList<BlockChecksum> Of(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        return memory.Blocks.Select(b => new BlockChecksum(b.Name, Of(b))).ToArray();
    }

    /// <summary>The number of chunks of <paramref name="block"/> (the last one may be shorter).</summary>
    public static int ChunkCount(RamBlock block) => (int)((block.Size + ChunkSize - 1) / ChunkSize);

    /// <summary>Writes the XXH128 of chunk <paramref name="chunk"/> of <paramref name="block"/> into <paramref name="digest"/> (16 bytes).</summary>
    public static void HashChunk(RamBlock block, int chunk, Span<byte> digest) => HashChunk(block, chunk, digest, s_hashByRuns);

    /// <summary>
    /// As <see cref="HashChunk(RamBlock, int, Span{byte})"/>; with <paramref name="byRuns"/>, a destination's chunk that is
    /// only partly written is hashed by runs of pages, its unwritten pages from a zero buffer instead of memory (the same value).
    /// </summary>
    internal static void HashChunk(RamBlock block, int chunk, Span<byte> digest, bool byRuns)
    {
        long offset = (long)chunk * ChunkSize;
        int length = (int)Math.Min(ChunkSize, block.Size - offset);
        if (block.Written is WrittenPages written)
        {
            long first = offset >> PageSizes.PageShift;
            long end = first + (length >> PageSizes.PageShift);
            if (!written.AnyWritten(first, end - first))
            {
                // A destination's chunk that holds no written page is all zero: hashed as zeros, not read (reading untouched
                // memory faults it in). The same digest as reading it.
                ZeroDigest(length).CopyTo(digest);
                return;
            }

            if (byRuns && (length & (PageSizes.PageSize - 1)) == 0 && written.RunEnd(first, end, written: true) < end)
            {
                HashByRuns(block, written, first, end, digest);
                return;
            }
        }

        XxHash128.Hash(block.GetSpan(offset, length), digest);
    }

    /// <summary>
    /// The XXH128 of pages <paramref name="first"/> to <paramref name="end"/>, streamed run by run: written pages from memory,
    /// unwritten ones (all zero: never written, or made zero, <see cref="WrittenPages"/>) from a zero buffer, so that they
    /// are not read (a read of an untouched 4 KiB page, once the block fell back from 2 MiB pages, is a fault that maps the
    /// zero page, and its unmap at exit).
    /// </summary>
    private static void HashByRuns(RamBlock block, WrittenPages written, long first, long end, Span<byte> digest)
    {
        var hash = new XxHash128();
        long page = first;
        while (page < end)
        {
            bool isWritten = written.IsWritten(page);
            long runEnd = written.RunEnd(page, end, isWritten);
            long bytes = (runEnd - page) << PageSizes.PageShift;
            if (isWritten)
            {
                hash.Append(block.GetSpan(page << PageSizes.PageShift, (int)bytes));
            }
            else
            {
                for (long done = 0; done < bytes; done += s_zeros.Length)
                {
                    hash.Append(s_zeros.AsSpan(0, (int)Math.Min(s_zeros.Length, bytes - done)));
                }
            }

            page = runEnd;
        }

        hash.GetCurrentHash(digest);
    }

    /// <summary>The XXH128 digest of <paramref name="length"/> zero bytes, computed once per length (a block has at most two chunk lengths).</summary>
    internal static ReadOnlySpan<byte> ZeroDigest(int length)
    {
        if (length == ChunkSize)
        {
            // The common one, written out (a test checks it): computing it would cost a 16 MiB array and its page faults
            // in every destination process.
            return s_zeroChunkDigest;
        }

        if (s_zeroDigests.TryGetValue(length, out byte[]? digest))
        {
            return digest;
        }

        // A shorter chunk (a small block, a block's tail): streamed from a small zero buffer.
        byte[] zeros = new byte[Math.Min(length, 64 << 10)];
        var hash = new XxHash128();
        for (int done = 0; done < length; done += zeros.Length)
        {
            hash.Append(zeros.AsSpan(0, Math.Min(zeros.Length, length - done)));
        }

        return s_zeroDigests.GetOrAdd(length, hash.GetCurrentHash());
    }

    /// <summary>The block's checksum from its chunks' digests, in order.</summary>
    public static string Combine(ReadOnlySpan<byte> digests) => Convert.ToHexStringLower(XxHash128.Hash(digests));
}
