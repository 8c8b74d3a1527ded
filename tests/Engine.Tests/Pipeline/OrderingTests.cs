using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>
/// The ordering guarantees: the source hands results back in submission order; the destination applies the copies of one
/// page in the order they arrive; held results keep the snapshot they were made from.
/// </summary>
public sealed class OrderingTests : EngineTestBase
{
    [Fact]
    public void ResultsComeBackInSubmissionOrderWhateverTheWorkersDo()
    {
        Hang.Guard(60, () =>
        {
            var plan = new ChaosPlan { MaxSpin = 5000, SleepOneIn = 500 };
            using var memory = new GuestMemory();
            RamBlock a = memory.AddBlock("a", 64 * PageSizes.PageSize);
            RamBlock b = memory.AddBlock("b", 64 * PageSizes.PageSize);
            for (long offset = 0; offset < a.Size; offset += PageSizes.PageSize)
            {
                PagePool.Write(a.GetPage(offset), PagePool.KindOf(offset / 4096, 0), 0, PagePool.TagOf(0, offset));
                PagePool.Write(b.GetPage(offset), PagePool.KindOf(offset / 4096, 1), 1, PagePool.TagOf(1, offset));
            }

            using var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 4, RingCapacity = 4 },
                ChaosCompressor.Factory(() => new RleCompressor(), plan));

            // Random pages, many of them submitted again while an earlier copy is still in flight.
            var random = new Random(3);
            var expected = new Queue<(RamBlock Block, long Offset)>();
            long sequence = 0;
            for (int i = 0; i < 20_000; i++)
            {
                RamBlock block = random.Next(2) == 0 ? a : b;
                long offset = random.Next(64) * (long)PageSizes.PageSize;
                while (!engine.TrySubmit(block, offset))
                {
                    Check(engine.Receive());
                }

                expected.Enqueue((block, offset));
                while (engine.TryReceive(out PageResult result))
                {
                    Check(result);
                }
            }

            while (engine.InFlight > 0)
            {
                Check(engine.Receive());
            }

            Assert.Empty(expected);

            void Check(PageResult result)
            {
                (RamBlock block, long offset) = expected.Dequeue();
                Assert.Same(block, result.Block);
                Assert.Equal(offset, result.Offset);
                Assert.Equal(sequence++, result.Sequence);
                if (result.Kind != PageResultKind.Zero)
                {
                    // The payload or snapshot belongs to this very page.
                    Span<byte> page = stackalloc byte[PageSizes.PageSize];
                    if (result.Kind == PageResultKind.Compressed)
                    {
                        Assert.Equal(DecompressStatus.Ok, new RleDecompressor().Decompress(result.Bytes, page));
                    }
                    else
                    {
                        result.Bytes.CopyTo(page);
                    }

                    Assert.True(page.SequenceEqual(block.GetPage(offset)));
                }

                engine.Release(result);
            }
        });
    }

    [Fact]
    public void HeldResultsKeepTheirSnapshotAndAreReleasedOldestFirst()
    {
        Hang.Guard(30, () =>
        {
            using var memory = new GuestMemory();
            RamBlock block = memory.AddBlock("pc.ram", 8 * PageSizes.PageSize);
            for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
            {
                PagePool.Write(block.GetPage(offset), offset < 4 * 4096 ? PageKind.Sparse : PageKind.Random, 0, offset);
            }

            byte[] original = block.GetSpan(0, (int)block.Size).ToArray();
            using var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2, RingCapacity = 4 },
                () => new RleCompressor());
            for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
            {
                Assert.True(engine.TrySubmit(block, offset));
            }

            var held = new PageResult[8];
            for (int i = 0; i < held.Length; i++)
            {
                held[i] = engine.Receive();
            }

            // Every credit is held by the caller: nothing more fits, and there is nothing to wait for.
            Assert.False(engine.TrySubmit(block, 0));
            Assert.Throws<InvalidOperationException>(() => engine.Receive());
            Assert.Equal(8, engine.Unreleased);

            // The guest scribbles over its pages: the results still hold what was checked and compressed.
            block.GetSpan(0, (int)block.Size).Fill(0xEE);
            Span<byte> page = stackalloc byte[PageSizes.PageSize];
            for (int i = 0; i < held.Length; i++)
            {
                ReadOnlySpan<byte> want = original.AsSpan(i * PageSizes.PageSize, PageSizes.PageSize);
                if (held[i].Kind == PageResultKind.Compressed)
                {
                    Assert.Equal(DecompressStatus.Ok, new RleDecompressor().Decompress(held[i].Bytes, page));
                    Assert.True(page.SequenceEqual(want));
                }
                else
                {
                    Assert.Equal(PageResultKind.Raw, held[i].Kind);
                    Assert.True(held[i].Bytes.SequenceEqual(want));
                }
            }

            Assert.Contains(held, r => r.Kind == PageResultKind.Compressed);
            Assert.Contains(held, r => r.Kind == PageResultKind.Raw);

            // Oldest first.
            Assert.Throws<InvalidOperationException>(() => engine.Release(held[1]));
            engine.Release(held[0]);
            Assert.Throws<InvalidOperationException>(() => held[0].Bytes.Length);
            Assert.Throws<InvalidOperationException>(() => engine.Release(held[0]));
            Assert.True(engine.TrySubmit(block, 0));
            for (int i = 1; i < held.Length; i++)
            {
                engine.Release(held[i]);
            }

            Assert.Equal(0, engine.Unreleased);
            engine.Release(engine.Receive());
        });
    }

    [Fact]
    public void TheDestinationAppliesTheCopiesOfAPageInTheirOrder()
    {
        Hang.Guard(60, () =>
        {
            // 20 000 copies of 64 pages in random order, each a zero, raw or compressed version: queued compressed copies
            // and raw or zero copies the caller applies itself must interleave without ever reordering one page.
            const int Pages = 64;
            const int Versions = 8;
            using var compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zstd, 1));
            var contents = new byte[Pages, Versions][];
            var payloads = new byte[Pages, Versions][];
            var kinds = new PageResultKind[Pages, Versions];
            var buffer = new byte[PageSizes.MaxCompressedPage];
            for (int p = 0; p < Pages; p++)
            {
                for (int v = 0; v < Versions; v++)
                {
                    var content = new byte[PageSizes.PageSize];
                    PageKind kind = PagePool.KindOf(p, v);
                    PagePool.Write(content, kind, v, p);
                    contents[p, v] = content;
                    if (kind == PageKind.Zero)
                    {
                        kinds[p, v] = PageResultKind.Zero;
                    }
                    else if (compressor.Compress(content, buffer, out int written) == CompressResult.Compressed)
                    {
                        kinds[p, v] = PageResultKind.Compressed;
                        payloads[p, v] = buffer.AsSpan(0, written).ToArray();
                    }
                    else
                    {
                        kinds[p, v] = PageResultKind.Raw;
                    }
                }
            }

            var plan = new ChaosPlan { MaxSpin = 4000, SleepOneIn = 300 };
            using var destination = new RamBlock("pc.ram", Pages * PageSizes.PageSize);
            using var engine = new DecompressionEngine(
                new DecompressionEngineOptions { Method = CompressMethod.Zstd, DecompressThreads = 3, RingCapacity = 2 },
                ChaosDecompressor.Factory(() => PageCodecs.CreateDecoder(CompressMethod.Zstd, strict: true), plan));
            var last = new int[Pages];
            Array.Fill(last, -1);
            var random = new Random(9);
            for (int i = 0; i < 20_000; i++)
            {
                int p = random.Next(Pages);
                int v = random.Next(Versions);
                long offset = (long)p * PageSizes.PageSize;
                switch (kinds[p, v])
                {
                    case PageResultKind.Zero:
                        engine.SubmitZero(destination, offset);
                        break;
                    case PageResultKind.Compressed:
                        engine.SubmitCompressed(destination, offset, payloads[p, v]);
                        break;
                    default:
                        engine.SubmitRaw(destination, offset, contents[p, v]);
                        break;
                }

                last[p] = v;
            }

            engine.WaitForDone();
            for (int p = 0; p < Pages; p++)
            {
                Assert.True(destination.GetPage((long)p * PageSizes.PageSize).SequenceEqual(contents[p, last[p]]), $"page {p} is not its last version");
            }

            Assert.Equal(20_000, engine.AppliedPages);
        });
    }

    [Fact]
    public void EveryCopyOfAPageGoesToTheSameDecompressWorker()
    {
        using var engine = new DecompressionEngine(new DecompressionEngineOptions { DecompressThreads = 5 }, () => new RleDecompressor());
        for (long page = 0; page < 1000; page++)
        {
            Assert.Equal((int)(page % 5), engine.WorkerOf(page * PageSizes.PageSize));
        }
    }
}
