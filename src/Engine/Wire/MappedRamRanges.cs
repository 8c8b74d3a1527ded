using System.Runtime.ExceptionServices;

namespace Engine.Wire;

/// <summary>
/// How the mapped-ram reader and writer share their work among threads: every block is cut into ranges of
/// <see cref="ChunkPages"/> pages, and up to <c>threads</c> workers handle the ranges at once.
/// </summary>
internal static class MappedRamRanges
{
    /// <summary>Pages per range: 16 MiB, a multiple of 64 so that no two ranges share a bitmap word.</summary>
    public const int ChunkPages = 4096;

    /// <summary>
    /// Runs <paramref name="handle"/>(block, first page, end page) for every range of the <paramref name="blockCount"/> blocks
    /// (block b has <paramref name="pageCount"/>(b) pages) on up to <paramref name="threads"/> workers, and returns the sum of
    /// what it returned. A failure is rethrown as itself, a <see cref="MigrationStreamException"/> before any other.
    /// </summary>
    /// <remarks>The caller's <paramref name="handle"/> must be safe to run on several ranges at once.</remarks>
    public static long ForEach(int blockCount, Func<int, long> pageCount, int threads, CancellationToken cancellationToken, Func<int, long, long, long> handle)
    {
        var work = new List<(int Block, long FirstPage, long EndPage)>();
        for (int b = 0; b < blockCount; b++)
        {
            long pages = pageCount(b);
            for (long page = 0; page < pages; page += ChunkPages)
            {
                work.Add((b, page, Math.Min(page + ChunkPages, pages)));
            }
        }

        // The only write shared between workers: the sum, added atomically once per range.
        long total = 0;
        try
        {
            Parallel.ForEach(
                work,
                new ParallelOptions { MaxDegreeOfParallelism = threads, CancellationToken = cancellationToken },
                item => Interlocked.Add(ref total, handle(item.Block, item.FirstPage, item.EndPage)));
        }
        catch (AggregateException e)
        {
            Exception first = e.InnerExceptions.FirstOrDefault(x => x is MigrationStreamException) ?? e.InnerExceptions[0];
            ExceptionDispatchInfo.Throw(first);
        }

        return total;
    }
}
