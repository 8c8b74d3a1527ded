using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>
/// Byte-exact round trips source → compression engine → decompression engine → destination, with the real codecs, for
/// every method and 1, 2, 8 and 255 threads (on a 2-core machine), with random delays, with a guest writing meanwhile,
/// and over a million pages.
/// </summary>
public sealed class RoundTripTests : EngineTestBase
{
    public static TheoryData<CompressMethod, int> MethodsAndThreads()
    {
        var data = new TheoryData<CompressMethod, int>();
        foreach (CompressMethod method in new[] { CompressMethod.None, CompressMethod.Zlib, CompressMethod.Zstd })
        {
            foreach (int threads in new[] { 1, 2, 8, 255 })
            {
                data.Add(method, threads);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(MethodsAndThreads))]
    public void EveryPageArrivesByteExact(CompressMethod method, int threads)
    {
        Hang.Guard(60, () =>
        {
            using MigrationHarness harness = Create(method, threads, ZlibImplementation.Native);
            RunThreePasses(harness);

            CompressionStatistics stats = harness.Compressor.Statistics;
            Assert.Equal(harness.Applied, stats.TotalPages);
            Assert.Equal(0, stats.Busy);
            Assert.True(stats.ZeroPages > 0);
            Assert.True(stats.NormalPages > 0, "random pages go out raw");
            if (method == CompressMethod.None)
            {
                Assert.Equal(0, stats.Pages);
            }
            else
            {
                Assert.True(stats.Pages > stats.NormalPages);
                Assert.True(stats.CompressionRate > 1.5, $"compression rate {stats.CompressionRate}");
            }
        });
    }

    [Fact]
    public void SharpZipLibRoundTrips()
    {
        Hang.Guard(60, () =>
        {
            using MigrationHarness harness = Create(CompressMethod.Zlib, 2, ZlibImplementation.SharpZipLib);
            RunThreePasses(harness);
        });
    }

    [Theory]
    [InlineData(CompressMethod.Zlib, 2)]
    [InlineData(CompressMethod.Zstd, 2)]
    [InlineData(CompressMethod.Zlib, 8)]
    [InlineData(CompressMethod.Zstd, 8)]
    public void RandomDelaysInWorkersChangeNothing(CompressMethod method, int threads)
    {
        Hang.Guard(60, () =>
        {
            // Small rings so that workers fill up, and delays so that they fall behind one another unevenly.
            var plan = new ChaosPlan { MaxSpin = 3000, SleepOneIn = 400 };
            CompressionSettings settings = CompressionSettings.Create(method, 1);
            using var harness = new MigrationHarness(
                new CompressionEngineOptions { Compression = settings, CompressThreads = threads, RingCapacity = 2 },
                new DecompressionEngineOptions { Method = method, DecompressThreads = threads, RingCapacity = 2 },
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(settings), plan),
                ChaosDecompressor.Factory(() => PageCodecs.CreateDecoder(method, strict: true), plan));
            harness.AddBlock("pc.ram", 2 << 20);
            harness.AddBlock("vga.vram", 256 << 10);
            for (int version = 0; version < 2; version++)
            {
                harness.WriteAll(version);
                harness.SendAll();
                harness.EndSection();
                harness.AssertIdentical();
            }

            Assert.True(plan.Calls > 1000);
        });
    }

    [Theory]
    [InlineData(CompressMethod.Zstd)]
    [InlineData(CompressMethod.Zlib)]
    public void PagesTheGuestWritesDuringTheMigrationConvergeAfterAFinalPass(CompressMethod method)
    {
        Hang.Guard(60, () =>
        {
            using MigrationHarness harness = Create(method, 4, ZlibImplementation.Native);
            RamBlock block = harness.AddBlock("pc.ram", 2 << 20);
            int pages = (int)block.PageCount;
            harness.WriteAll(0);

            // The guest: writes pages (a whole page at a time, so the workers' copies may catch it half written) and marks
            // them dirty afterwards, as KVM's dirty log would.
            var dirty = new int[pages];
            using var stop = new CancellationTokenSource();
            long writes = 0;
            var guest = new Thread(() =>
            {
                var random = new Random(5);
                int version = 1;
                while (!stop.IsCancellationRequested)
                {
                    int page = random.Next(pages) % 128;
                    harness.WritePage(block, (long)page * PageSizes.PageSize, version++);
                    Volatile.Write(ref dirty[page], 1);
                    writes++;
                    if ((writes & 63) == 0)
                    {
                        Thread.Sleep(1);
                    }
                }
            })
            { Name = "test-guest", IsBackground = true };
            guest.Start();

            harness.SendAll();
            for (int round = 0; round < 20; round++)
            {
                SendDirty(harness, block, dirty);
                harness.EndSection();
            }

            stop.Cancel();
            guest.Join();
            SendDirty(harness, block, dirty);
            harness.EndSection();
            harness.AssertIdentical();
            Assert.True(Interlocked.Read(ref writes) > 100, $"the guest wrote only {writes} pages");
        });
    }

    /// <summary>
    /// 2^20 pages through both engines, per method: 256 passes over 16 MiB of mostly zero memory, with a hot set and
    /// random pages rewritten before every pass and random pages zeroed again, random delays in every codec call, checked
    /// page by page every 32 passes and at the end.
    /// </summary>
    [Theory]
    [InlineData(CompressMethod.None, 255, 255)]
    [InlineData(CompressMethod.Zlib, 8, 2)]
    [InlineData(CompressMethod.Zstd, 2, 1)]
    [InlineData(CompressMethod.Zstd, 1, 8)]
    public void AMillionPagesMostlyZero(CompressMethod method, int compressThreads, int decompressThreads)
    {
        Hang.Guard(120, () =>
        {
            var plan = new ChaosPlan { MaxSpin = 2000, SleepOneIn = 4000 };
            CompressionSettings settings = CompressionSettings.Create(method, method == CompressMethod.None ? 0 : 1);
            using var harness = new MigrationHarness(
                new CompressionEngineOptions { Compression = settings, CompressThreads = compressThreads },
                new DecompressionEngineOptions { Method = method, DecompressThreads = decompressThreads },
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(settings), plan),
                ChaosDecompressor.Factory(() => PageCodecs.CreateDecoder(method, strict: true), plan));
            RamBlock block = harness.AddBlock("pc.ram", 16 << 20);
            const int Passes = 256;
            int pages = (int)block.PageCount;
            var random = new Random(11);
            var previous = new List<long>();
            for (int pass = 0; pass < Passes; pass++)
            {
                // The hot set: the first 32 pages change every pass.
                for (int page = 0; page < 32; page++)
                {
                    harness.WritePage(block, (long)page * PageSizes.PageSize, pass);
                }

                // Last pass's random pages are zero again; 32 new ones get content.
                foreach (long offset in previous)
                {
                    block.GetPage(offset).Clear();
                }

                previous.Clear();
                for (int i = 0; i < 32; i++)
                {
                    long offset = (long)random.Next(32, pages) * PageSizes.PageSize;
                    harness.WritePage(block, offset, pass);
                    previous.Add(offset);
                }

                harness.SendAll();
                if (pass % 32 == 31)
                {
                    harness.EndSection();
                    harness.AssertIdentical();
                }
            }

            harness.EndSection();
            harness.AssertIdentical();
            CompressionStatistics stats = harness.Compressor.Statistics;
            Assert.Equal(Passes * (long)pages, stats.TotalPages);
            Assert.Equal(1 << 20, stats.TotalPages);
            Assert.True(stats.ZeroPages > 900_000);
        });
    }

    private static MigrationHarness Create(CompressMethod method, int threads, ZlibImplementation zlib)
    {
        CompressionSettings settings = CompressionSettings.Create(method, method == CompressMethod.None ? 0 : 1);
        return new MigrationHarness(
            new CompressionEngineOptions { Compression = settings, CompressThreads = threads, Zlib = zlib },
            new DecompressionEngineOptions { Method = method, DecompressThreads = threads, Zlib = zlib });
    }

    /// <summary>Three passes over three blocks (1184 pages): all pages, then twice after rewriting a third of them.</summary>
    private static void RunThreePasses(MigrationHarness harness)
    {
        harness.AddBlock("pc.ram", 4 << 20);
        harness.AddBlock("vga.vram", 512 << 10);
        harness.AddBlock("/rom@etc/acpi/tables", 128 << 10);
        harness.WriteAll(0);
        for (int pass = 0; pass < 3; pass++)
        {
            if (pass > 0)
            {
                foreach (RamBlock block in harness.Source.Blocks)
                {
                    for (long page = pass; page < block.PageCount; page += 3)
                    {
                        harness.WritePage(block, page * PageSizes.PageSize, pass);
                    }
                }
            }

            harness.SendAll();
            harness.EndSection();
            harness.AssertIdentical();
        }
    }

    private static void SendDirty(MigrationHarness harness, RamBlock block, int[] dirty)
    {
        for (int page = 0; page < dirty.Length; page++)
        {
            // Clear before sending: a write after this point marks the page again, so it is sent again.
            if (Interlocked.Exchange(ref dirty[page], 0) != 0)
            {
                harness.Send(block, (long)page * PageSizes.PageSize);
            }
        }
    }
}
