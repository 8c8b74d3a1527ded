using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>Dispose while busy is safe: it joins every thread and frees every buffer, from the caller's thread or another one.</summary>
public sealed class DisposeTests : EngineTestBase
{
    [Fact]
    public void DisposingWhileWorkersAreBusyJoinsThemAndFreesEverything()
    {
        Hang.Guard(30, () =>
        {
            using GuestMemory memory = SparseMemory(256);
            RamBlock block = memory.Blocks[0];
            var plan = new ChaosPlan { FixedMicroseconds = 2000 };
            var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 4, RingCapacity = 4 },
                ChaosCompressor.Factory(() => new RleCompressor(), plan));
            Assert.True(engine.NativeBytes > 0);
            long offset = 0;
            while (engine.TrySubmit(block, offset))
            {
                offset += PageSizes.PageSize;
            }

            PageResult held = engine.Receive();
            Assert.Equal(16, engine.InFlight + engine.Unreleased);
            engine.Dispose();

            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
            Assert.Equal(0, engine.NativeBytes);
            Assert.Throws<ObjectDisposedException>(() => engine.TrySubmit(block, 0));
            Assert.Throws<ObjectDisposedException>(() => engine.Receive());
            Assert.Throws<ObjectDisposedException>(() => held.Bytes.Length);
            engine.Release(held);
            engine.Dispose();
        });
    }

    [Fact]
    public void DisposingFromAnotherThreadWakesACallerWaitingForAResult()
    {
        Hang.Guard(30, () =>
        {
            using GuestMemory memory = SparseMemory(4);
            var plan = new ChaosPlan { FixedMicroseconds = 300_000 };
            var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 1 },
                ChaosCompressor.Factory(() => new RleCompressor(), plan));
            Assert.True(engine.TrySubmit(memory.Blocks[0], 0));
            var disposer = new Thread(() =>
            {
                Assert.True(Hang.WaitUntil(() => engine.ResultParkers.Any(p => p.IsParked)));
                engine.Dispose();
            })
            { IsBackground = true };
            disposer.Start();
            Assert.Throws<ObjectDisposedException>(() => engine.Receive());
            disposer.Join();
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
            Assert.Equal(0, engine.NativeBytes);
        });
    }

    [Fact]
    public void DisposingRacingACallerThatCopiesBusyPagesNeverCrashesOrHangs()
    {
        Hang.Guard(60, () =>
        {
            using GuestMemory memory = SparseMemory(64);
            RamBlock block = memory.Blocks[0];
            var random = new Random(1);
            for (int round = 0; round < 40; round++)
            {
                var plan = new ChaosPlan { FixedMicroseconds = 100 };
                var engine = new CompressionEngine(
                    new CompressionEngineOptions
                    {
                        Compression = CompressionSettings.Create(CompressMethod.Zstd, 1),
                        CompressThreads = 2,
                        RingCapacity = 1,
                        CompressWaitThread = false,
                    },
                    ChaosCompressor.Factory(() => new RleCompressor(), plan));
                Exception? callerEnded = null;
                var caller = new Thread(() =>
                {
                    try
                    {
                        for (long i = 0; ; i++)
                        {
                            // The handler reads every byte: a Dispose racing it must wait rather than free them.
                            engine.Submit(block, (i % 64) * PageSizes.PageSize, static (in PageResult r) => _ = r.Bytes.IndexOf((byte)0xFF));
                        }
                    }
                    catch (Exception e)
                    {
                        callerEnded = e;
                    }
                })
                { IsBackground = true };
                caller.Start();
                Thread.Sleep(random.Next(4));
                engine.Dispose();
                caller.Join();
                Assert.True(callerEnded is ObjectDisposedException, $"the caller ended with {callerEnded}");
                Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
                Assert.Equal(0, engine.NativeBytes);
            }
        });
    }

    [Fact]
    public void DisposingTheDestinationWakesACallerWaitingForRoomOrForDone()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", 16 * PageSizes.PageSize);
            byte[] payload = RlePayloadOfOnes();
            foreach (bool waitForDone in new[] { false, true })
            {
                var plan = new ChaosPlan { FixedMicroseconds = 200_000 };
                var engine = new DecompressionEngine(
                    new DecompressionEngineOptions { DecompressThreads = 1, RingCapacity = 1 },
                    ChaosDecompressor.Factory(() => new RleDecompressor(), plan));
                var disposer = new Thread(() =>
                {
                    Thread.Sleep(50);
                    engine.Dispose();
                })
                { IsBackground = true };
                disposer.Start();
                Assert.Throws<ObjectDisposedException>(() =>
                {
                    engine.SubmitCompressed(block, 0, payload);
                    if (waitForDone)
                    {
                        engine.WaitForDone();
                    }
                    else
                    {
                        // The ring holds one page: the second waits for room.
                        engine.SubmitCompressed(block, 4096, payload);
                        engine.SubmitCompressed(block, 8192, payload);
                    }
                });
                disposer.Join();
                Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
                Assert.Equal(0, engine.NativeBytes);
            }
        });
    }

    [Fact]
    public void AHandlerThatDisposesTheEngineDoesNotDeadlock()
    {
        Hang.Guard(30, () =>
        {
            using GuestMemory memory = SparseMemory(64);
            var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2 },
                () => new RleCompressor());
            int handled = 0;
            Assert.Throws<ObjectDisposedException>(() => engine.CompressBlock(memory.Blocks[0], (in PageResult result) =>
            {
                if (++handled == 10)
                {
                    engine.Dispose();

                    // The bytes are gone now, and the result says so rather than reading freed memory.
                    PageResult copy = result;
                    Assert.Throws<ObjectDisposedException>(() => copy.Bytes.Length);
                }
            }));
            Assert.Equal(10, handled);
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
            Assert.Equal(0, engine.NativeBytes);
        });
    }

    [Fact]
    public void AHandlerCallingBackIntoAFailedEngineGetsTheFailure()
    {
        Hang.Guard(30, () =>
        {
            using GuestMemory memory = SparseMemory(64);
            RamBlock block = memory.Blocks[0];
            // 20 ms per call: page 0's result is handed over well before the sixth call fails.
            var plan = new ChaosPlan { FailAtCall = 5, FixedMicroseconds = 20_000 };
            using var engine = new CompressionEngine(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 2 },
                ChaosCompressor.Factory(() => new RleCompressor(), plan));

            // The first handler call waits until a worker has failed, then calls back into the engine: the failure must
            // come out of that call (the caller finishing the stop from inside its own gate, without waiting for itself).
            // Eight pages go in before any handler can run, so the failing call (the sixth) comes whatever the timing;
            // otherwise a worker finishing page 0 before the caller submitted page 5 left the handler waiting in vain.
            PageException e = Assert.Throws<PageException>(() =>
            {
                for (long i = 0; i < 8; i++)
                {
                    Assert.True(engine.TrySubmit(block, i * PageSizes.PageSize));
                }

                for (long i = 8; i < 1000; i++)
                {
                    engine.Submit(block, (i % 64) * PageSizes.PageSize, (in PageResult result) =>
                    {
                        Assert.True(Hang.WaitUntil(() => plan.FailedPageTag >= 0));
                        Thread.Sleep(20);
                        engine.TrySubmit(block, 0);
                        Assert.Fail("the engine accepted a page after it failed");
                    });
                }
            });
            Assert.Contains("injected", e.Message);
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
        });
    }

    [Fact]
    public void DisposingAnIdleEngineTwiceIsFine()
    {
        var compression = new CompressionEngine(new CompressionEngineOptions { CompressThreads = 3 });
        var decompression = new DecompressionEngine();
        compression.Dispose();
        compression.Dispose();
        decompression.Dispose();
        decompression.Dispose();
        Assert.Equal(0, WorkerThreads.LiveCountOf(compression));
        Assert.Equal(0, WorkerThreads.LiveCountOf(decompression));
    }

    internal static GuestMemory SparseMemory(int pages)
    {
        var memory = new GuestMemory();
        RamBlock block = memory.AddBlock("pc.ram", pages * (long)PageSizes.PageSize);
        for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
        {
            PagePool.Write(block.GetPage(offset), PageKind.Sparse, 0, offset);
        }

        return memory;
    }

    private static byte[] RlePayloadOfOnes()
    {
        var page = new byte[PageSizes.PageSize];
        page.AsSpan().Fill(1);
        var payload = new byte[PageSizes.PageSize];
        Assert.Equal(CompressResult.Compressed, new RleCompressor().Compress(page, payload, out int written));
        return payload[..written];
    }
}
