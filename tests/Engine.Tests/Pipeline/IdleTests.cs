using Engine.Codecs;
using Engine.Pipeline;
using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>An idle engine burns no CPU: every worker is parked on its event and stays there.</summary>
public sealed class IdleTests : EngineTestBase
{
    [Fact]
    public void IdleWorkersParkAndStayParked()
    {
        Hang.Guard(30, () =>
        {
            using var harness = new MigrationHarness(
                new CompressionEngineOptions { Compression = CompressionSettings.Create(CompressMethod.Zstd, 1), CompressThreads = 8 },
                new DecompressionEngineOptions { Method = CompressMethod.Zstd, DecompressThreads = 4 });
            harness.AddBlock("pc.ram", 1 << 20);
            harness.WriteAll(0);
            harness.SendAll();
            harness.EndSection();

            ThreadParker[] parkers = harness.Compressor.WorkerParkers.Concat(harness.Decompressor.WorkerParkers).ToArray();
            Assert.True(Hang.WaitUntil(() => parkers.All(p => p.IsParked)), "some idle worker is not parked (spinning?)");
            long parks = parkers.Sum(p => p.ParkCount);
            long wakes = parkers.Sum(p => p.WakeCount);
            Thread.Sleep(200);

            // No spurious wake-up loop: nobody woke, nobody parked again.
            Assert.Equal(parks, parkers.Sum(p => p.ParkCount));
            Assert.Equal(wakes, parkers.Sum(p => p.WakeCount));
            Assert.True(parkers.All(p => p.IsParked));

            // And they wake up for work.
            harness.WriteAll(1);
            harness.SendAll();
            harness.EndSection();
            harness.AssertIdentical();
        });
    }
}
