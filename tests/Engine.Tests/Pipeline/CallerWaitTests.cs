using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>
/// How the decompression engine's caller waits for a full worker: it blocks until the ring is half empty (one park per
/// half ring, not one wait per page), and only the worker it waits on wakes it.
/// </summary>
public sealed class CallerWaitTests : EngineTestBase
{
    private const int Capacity = 16;

    [Fact]
    public void TheCallerParksOncePerHalfRingBehindASlowWorker()
    {
        Hang.Guard(60, () =>
        {
            // 1 ms a page: far longer than the parker's spin and yield phase, so a wait per page would be a park per page.
            const int Pages = Capacity + (8 * 20);
            using var block = new RamBlock("pc.ram", Pages * (long)PageSizes.PageSize);
            using var engine = new DecompressionEngine(
                new DecompressionEngineOptions { DecompressThreads = 1, RingCapacity = Capacity },
                () => new FillDecompressor(TimeSpan.FromMilliseconds(1)));
            Assert.Equal(Capacity / 2, engine.RefillLevel);

            SubmitPages(engine, block, Pages);
            engine.WaitForDone();
            AssertFilled(block, Pages);

            // Every page past the first ring-full waited for room; a refill takes Capacity - RefillLevel of them.
            long parks = engine.CallerParker.ParkCount;
            int refills = (Pages - Capacity) / (Capacity - engine.RefillLevel);
            Assert.InRange(parks, refills / 2, refills + 2);

            // Each park took one wake-up (the worker that reached the refill level, or WaitForDone's): none per page.
            Assert.InRange(engine.CallerParker.WakeCount, 1, parks + 2);
        });
    }

    [Fact]
    public void AFastWorkerDoesNotWakeTheCallerWaitingOnASlowOne()
    {
        Hang.Guard(60, () =>
        {
            // Worker 0 (even pages) takes 2 ms a page, worker 1 (odd pages) nothing: while the caller is parked on
            // worker 0's ring, worker 1 drains its own ring, and must not wake the caller for it.
            const int Pages = 2 * (Capacity + (8 * 12));
            using var block = new RamBlock("pc.ram", Pages * (long)PageSizes.PageSize);
            int created = 0;
            using var engine = new DecompressionEngine(
                new DecompressionEngineOptions { DecompressThreads = 2, RingCapacity = Capacity },
                () => new FillDecompressor(created++ == 0 ? TimeSpan.FromMilliseconds(2) : TimeSpan.Zero));

            SubmitPages(engine, block, Pages);
            engine.WaitForDone();
            AssertFilled(block, Pages);

            long parks = engine.CallerParker.ParkCount;
            Assert.InRange(parks, 1, (Pages / 2 / (Capacity - engine.RefillLevel)) + 2);
            Assert.InRange(engine.CallerParker.WakeCount, 1, parks + 2);
        });
    }

    [Fact]
    public void AFailureWakesACallerParkedForRoom()
    {
        Hang.Guard(30, () =>
        {
            // The worker's 5th page fails after the caller has filled the ring and parked for room.
            using var block = new RamBlock("pc.ram", 64 * PageSizes.PageSize);
            using var engine = new DecompressionEngine(
                new DecompressionEngineOptions { DecompressThreads = 1, RingCapacity = Capacity },
                () => new FillDecompressor(TimeSpan.FromMilliseconds(20), failAtCall: 5));

            PageException e = Assert.Throws<PageException>(() => SubmitPages(engine, block, 64));
            Assert.Equal(4 * PageSizes.PageSize, e.Offset);
            Assert.Equal(DecompressStatus.Corrupt, e.Status);
            Assert.True(engine.CallerParker.ParkCount >= 1, "the caller never parked: the test did not test the refill wait");
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
            Assert.Equal(0, engine.NativeBytes);
        });
    }

    [Fact]
    public void DisposeFromAnotherThreadReleasesACallerParkedForRoom()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", 64 * PageSizes.PageSize);
            var engine = new DecompressionEngine(
                new DecompressionEngineOptions { DecompressThreads = 1, RingCapacity = Capacity },
                () => new FillDecompressor(TimeSpan.FromMilliseconds(50)));

            var disposer = new Thread(() =>
            {
                Assert.True(Hang.WaitUntil(() => engine.CallerParker.IsParked), "the caller never parked for room");
                engine.Dispose();
            })
            { IsBackground = true };
            disposer.Start();

            Assert.Throws<ObjectDisposedException>(() => SubmitPages(engine, block, 64));
            Assert.True(disposer.Join(TimeSpan.FromSeconds(10)));
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
        });
    }

    private static void SubmitPages(DecompressionEngine engine, RamBlock block, int pages)
    {
        Span<byte> payload = stackalloc byte[1];
        for (int page = 0; page < pages; page++)
        {
            payload[0] = (byte)(page + 1);
            engine.SubmitCompressed(block, (long)page * PageSizes.PageSize, payload);
        }
    }

    private static void AssertFilled(RamBlock block, int pages)
    {
        for (int page = 0; page < pages; page++)
        {
            ReadOnlySpan<byte> bytes = block.GetSpan((long)page * PageSizes.PageSize, PageSizes.PageSize);
            Assert.True(bytes.IndexOfAnyExcept((byte)(page + 1)) < 0, $"page {page} was not applied");
        }
    }

    /// <summary>A stand-in decoder: fills the page with the payload's one byte after a delay; fails at a chosen call.</summary>
    private sealed class FillDecompressor(TimeSpan delay, int failAtCall = 0) : IPageDecompressor
    {
        private int _calls;

        public CompressMethod Method => CompressMethod.Zstd;

        public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
        {
            if (delay > TimeSpan.Zero)
            {
                Thread.Sleep(delay);
            }

            if (++_calls == failAtCall)
            {
                return DecompressStatus.Corrupt;
            }

            page.Fill(payload[0]);
            return DecompressStatus.Ok;
        }

        public void Dispose()
        {
        }
    }
}
