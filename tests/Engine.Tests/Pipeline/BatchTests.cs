using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>Batched hand-off: many pages of one block per submission, their results together, in order.</summary>
public sealed class BatchTests : EngineTestBase
{
    private static CompressionEngineOptions Options(CompressMethod method, int threads, bool wait = true) => new()
    {
        Compression = CompressionSettings.Create(method, 1),
        CompressThreads = threads,
        CompressWaitThread = wait,
        BatchPages = CompressionEngineOptions.MaxBatchPages,
        RingCapacity = 2,
    };

    [Theory]
    [InlineData(CompressMethod.Zstd, 1)]
    [InlineData(CompressMethod.Zstd, 3)]
    [InlineData(CompressMethod.Zlib, 2)]
    [InlineData(CompressMethod.None, 2)]
    public void BatchesOfEverySizeComeBackInOrderAndDecodeToTheirPages(CompressMethod method, int threads)
    {
        Hang.Guard(60, () =>
        {
            const int Pages = 2048;
            using var block = new RamBlock("pc.ram", Pages * PageSizes.PageSize);
            for (int p = 0; p < Pages; p++)
            {
                PagePool.Write(block.GetPage(p * PageSizes.PageSize), PagePool.KindOf(p, 0), 0, p * PageSizes.PageSize);
            }

            using var engine = new CompressionEngine(Options(method, threads));
            using IPageDecompressor? decoder = method == CompressMethod.None ? null : PageCodecs.CreateDecoder(method, strict: true);
            var rnd = new Random(3);
            var expected = new Queue<long>();
            var offsets = new long[CompressionEngineOptions.MaxBatchPages];
            byte[] page = new byte[PageSizes.PageSize];
            int checkedPages = 0;
            int zeroPages = 0;

            void Check(in PageResultBatch batch)
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    PageResult r = batch[i];
                    Assert.Equal(expected.Dequeue(), r.Offset);
                    Assert.Same(block, r.Block);
                    ReadOnlySpan<byte> source = block.GetPage(r.Offset);

                    // The pages do not change: the worker's check (made on the page where it is) says zero exactly for
                    // the zero pages, and a page with data never comes back as zero.
                    Assert.Equal(ZeroPage.IsZero(source), r.Kind == PageResultKind.Zero);
                    switch (r.Kind)
                    {
                        case PageResultKind.Zero:
                            Assert.Equal(0, r.Length);
                            zeroPages++;
                            break;
                        case PageResultKind.Raw:
                            Assert.True(r.Bytes.SequenceEqual(source));
                            break;
                        default:
                            Assert.Equal(DecompressStatus.Ok, decoder!.Decompress(r.Bytes, page));
                            Assert.True(page.AsSpan().SequenceEqual(source));
                            break;
                    }

                    checkedPages++;
                }

                engine.Release(in batch);
            }

            // Sizes from 1 to 128, pages in a shuffled order, some sent twice.
            int next = 0;
            while (next < Pages)
            {
                int n = Math.Min(rnd.Next(1, CompressionEngineOptions.MaxBatchPages + 1), Pages - next);
                for (int i = 0; i < n; i++)
                {
                    offsets[i] = (long)((next + i) * 7919 % Pages) * PageSizes.PageSize;
                    expected.Enqueue(offsets[i]);
                }

                while (!engine.TrySubmit(block, offsets.AsSpan(0, n)))
                {
                    Check(engine.ReceiveBatch());
                }

                next += n;
            }

            while (engine.InFlight > 0)
            {
                Check(engine.ReceiveBatch());
            }

            Assert.Equal(Pages, checkedPages);
            Assert.InRange(zeroPages, 1, Pages - 1); // the mix has both kinds, so the check above was tested both ways
            Assert.Empty(expected);
            CompressionStatistics stats = engine.Statistics;
            Assert.Equal(Pages, stats.TotalPages);
        });
    }

    [Fact]
    public void ABadOffsetAnywhereInABatchIsRefusedBeforeAnythingIsHandedOut()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", 16 * PageSizes.PageSize);
            using var engine = new CompressionEngine(Options(CompressMethod.Zstd, 2));
            long[] offsets = [0, 4096, 8192, 16 * PageSizes.PageSize];
            Assert.Throws<ArgumentOutOfRangeException>(() => engine.TrySubmit(block, offsets));
            Assert.Throws<ArgumentOutOfRangeException>(() => engine.TrySubmit(block, [0, 4097]));
            Assert.Throws<ArgumentOutOfRangeException>(() => engine.TrySubmit(block, ReadOnlySpan<long>.Empty));
            Assert.Throws<ArgumentOutOfRangeException>(() => engine.TrySubmit(block, new long[CompressionEngineOptions.MaxBatchPages + 1]));
            Assert.Equal(0, engine.InFlight);

            // The engine still works.
            Assert.True(engine.TrySubmit(block, [0, 4096]));
            PageResultBatch batch = engine.ReceiveBatch();
            Assert.Equal(2, batch.Count);
            Assert.Equal(PageResultKind.Zero, batch[1].Kind);
            Assert.Throws<ArgumentOutOfRangeException>(() => batch[2]);
            engine.Release(in batch);
            Assert.Throws<InvalidOperationException>(() => batch[0].Bytes.Length);
        });
    }

    [Fact]
    public void ASinglePageReceiveOfABatchIsRefusedWithTheWayToReceiveIt()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", 4 * PageSizes.PageSize);
            using var engine = new CompressionEngine(Options(CompressMethod.Zstd, 1));
            Assert.True(engine.TrySubmit(block, [0, 4096, 8192]));
            InvalidOperationException e = Assert.Throws<InvalidOperationException>(() => engine.Receive());
            Assert.Contains("ReceiveBatch", e.Message);
            PageResultBatch batch = engine.ReceiveBatch();
            Assert.Equal(3, batch.Count);
            engine.Release(in batch);
        });
    }

    [Fact]
    public void AFailureInTheMiddleOfABatchNamesThatPageAndStopsEverything()
    {
        Hang.Guard(60, () =>
        {
            // Compress call 70 (counted from 0) fails: page 70 of the batch of 128 (one worker, so calls run in page order).
            var plan = new ChaosPlan { FailAtCall = 70 };
            using var block = new RamBlock("pc.ram", 256 * PageSizes.PageSize);
            for (int p = 0; p < 256; p++)
            {
                PagePool.Write(block.GetPage(p * PageSizes.PageSize), PageKind.Text, 0, p * PageSizes.PageSize);
            }

            using var engine = new CompressionEngine(
                Options(CompressMethod.Zstd, 1),
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zstd, 1)), plan));
            long[] offsets = Enumerable.Range(0, 128).Select(p => (long)p * PageSizes.PageSize).ToArray();
            Assert.True(engine.TrySubmit(block, offsets));
            PageException e = Assert.Throws<PageException>(() => engine.ReceiveBatch());
            Assert.Equal("pc.ram", e.BlockName);
            Assert.Equal(plan.FailedPageTag, e.Offset);
            Assert.Equal(70L * PageSizes.PageSize, e.Offset);
            Assert.Equal(EngineErrorKind.Page, e.Kind);
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
            Assert.Equal(0, engine.NativeBytes);
        });
    }

    [Fact]
    public void WithoutWaitingAFullEngineTakesWholeBatchesAsBusyZeroOrRaw()
    {
        Hang.Guard(60, () =>
        {
            const int Pages = 1024;
            using var block = new RamBlock("pc.ram", Pages * PageSizes.PageSize);
            for (int p = 0; p < Pages; p += 2)
            {
                PagePool.Write(block.GetPage(p * PageSizes.PageSize), PageKind.Text, 0, p * PageSizes.PageSize);
            }

            // A slow codec: every worker stays full, so the caller takes batches itself.
            var plan = new ChaosPlan { FixedMicroseconds = 200 };
            using var engine = new CompressionEngine(
                Options(CompressMethod.Zstd, 1, wait: false),
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zstd, 1)), plan));
            long[] offsets = new long[64];
            int busy = 0;
            int seen = 0;
            void Check(in PageResultBatch batch)
            {
                for (int i = 0; i < batch.Count; i++)
                {
                    PageResult r = batch[i];
                    Assert.Equal(batch.IsBusy, r.IsBusy);
                    bool zero = ZeroPage.IsZero(block.GetPage(r.Offset));
                    if (r.IsBusy)
                    {
                        busy++;
                        Assert.Equal(zero ? PageResultKind.Zero : PageResultKind.Raw, r.Kind);
                        if (!zero)
                        {
                            Assert.True(r.Bytes.SequenceEqual(block.GetPage(r.Offset)));
                        }
                    }

                    seen++;
                }

                engine.Release(in batch);
            }

            for (int first = 0; first < Pages; first += offsets.Length)
            {
                for (int i = 0; i < offsets.Length; i++)
                {
                    offsets[i] = (long)(first + i) * PageSizes.PageSize;
                }

                while (!engine.TrySubmit(block, offsets))
                {
                    Check(engine.ReceiveBatch());
                }
            }

            while (engine.InFlight > 0)
            {
                Check(engine.ReceiveBatch());
            }

            Assert.Equal(Pages, seen);
            Assert.True(busy > 0, "no batch was taken busy although the codec was slow");
            Assert.Equal(busy, engine.Statistics.Busy);
        });
    }
}
