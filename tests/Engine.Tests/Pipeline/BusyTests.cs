using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>compress-wait-thread: off sends pages raw when every worker is full and counts them as busy; on waits.</summary>
public sealed class BusyTests : EngineTestBase
{
    [Fact]
    public void WithoutWaitingASlowCodecMakesBusyPagesThatStillRoundTrip()
    {
        Hang.Guard(60, () =>
        {
            var plan = new ChaosPlan { FixedMicroseconds = 300 };
            using var harness = new MigrationHarness(
                new CompressionEngineOptions
                {
                    Compression = CompressionSettings.Create(CompressMethod.Zstd, 1),
                    CompressThreads = 2,
                    RingCapacity = 2,
                    CompressWaitThread = false,
                },
                new DecompressionEngineOptions { Method = CompressMethod.Zstd },
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zstd, 1)), plan));
            harness.AddBlock("pc.ram", 4 << 20);
            harness.WriteAll(0);
            long busyResults = 0;
            long rawBusy = 0;
            for (long offset = 0; offset < 4 << 20; offset += PageSizes.PageSize)
            {
                harness.Compressor.Submit(harness.Source["pc.ram"], offset, Count);
            }

            harness.Compressor.Drain(Count);
            harness.Decompressor.WaitForDone();
            harness.AssertIdentical();

            CompressionStatistics stats = harness.Compressor.Statistics;
            Assert.True(stats.Busy > 0, "no page was busy although the codec is slow and nobody waits");
            Assert.Equal(busyResults, stats.Busy);
            Assert.True(rawBusy > 0);
            Assert.Equal(1024, stats.TotalPages);
            Assert.True(stats.Busy <= stats.NormalPages + stats.ZeroPages);
            Assert.Equal((double)stats.Busy / stats.TotalPages, stats.BusyRate);
            Assert.True(stats.Pages > 0, "some pages were still compressed");

            void Count(in PageResult result)
            {
                if (result.IsBusy)
                {
                    busyResults++;
                    Assert.NotEqual(PageResultKind.Compressed, result.Kind);
                    rawBusy += result.Kind == PageResultKind.Raw ? 1 : 0;
                }

                // Forward to the destination as the harness does.
                ForwardTo(harness, result);
            }
        });
    }

    [Fact]
    public void WithWaitingTheSameSlowCodecMakesNoBusyPage()
    {
        Hang.Guard(60, () =>
        {
            var plan = new ChaosPlan { FixedMicroseconds = 300 };
            using var harness = new MigrationHarness(
                new CompressionEngineOptions
                {
                    Compression = CompressionSettings.Create(CompressMethod.Zstd, 1),
                    CompressThreads = 2,
                    RingCapacity = 2,
                    CompressWaitThread = true,
                },
                new DecompressionEngineOptions { Method = CompressMethod.Zstd },
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zstd, 1)), plan));
            harness.AddBlock("pc.ram", 2 << 20);
            harness.WriteAll(0);
            harness.SendAll();
            harness.EndSection();
            harness.AssertIdentical();
            Assert.Equal(0, harness.Compressor.Statistics.Busy);
            Assert.Equal(512, harness.Compressor.Statistics.TotalPages);
        });
    }

    private static void ForwardTo(MigrationHarness harness, in PageResult result)
    {
        var destination = harness.Destination[result.Block.Name];
        switch (result.Kind)
        {
            case PageResultKind.Zero:
                harness.Decompressor.SubmitZero(destination, result.Offset);
                break;
            case PageResultKind.Compressed:
                harness.Decompressor.SubmitCompressed(destination, result.Offset, result.Bytes);
                break;
            default:
                harness.Decompressor.SubmitRaw(destination, result.Offset, result.Bytes);
                break;
        }
    }
}
