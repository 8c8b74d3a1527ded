using Engine.Codecs;
using Engine.Pipeline;
using Engine.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Pipeline;

/// <summary>In steady state nothing is allocated per page: not on the caller's thread, not on any worker.</summary>
public sealed class AllocationTests(ITestOutputHelper output) : EngineTestBase
{
    [Theory]
    [InlineData(CompressMethod.Zstd, 2)]
    [InlineData(CompressMethod.Zlib, 8)]
    [InlineData(CompressMethod.None, 2)]
    public void SteadyStateAllocatesNothingPerPage(CompressMethod method, int threads)
    {
        Hang.Guard(60, () =>
        {
            // Each worker's probe starts counting after its 64th call, well after its codec and its thread are warm.
            var plan = new ChaosPlan { AllocationWatchAfter = 64 };
            CompressionSettings settings = CompressionSettings.Create(method, method == CompressMethod.None ? 0 : 1);
            using var harness = new MigrationHarness(
                new CompressionEngineOptions { Compression = settings, CompressThreads = threads, RingCapacity = 4 },
                new DecompressionEngineOptions { Method = method, DecompressThreads = threads, RingCapacity = 4 },
                ChaosCompressor.Factory(() => PageCodecs.CreateCompressor(settings), plan),
                ChaosDecompressor.Factory(() => PageCodecs.CreateDecoder(method, strict: false), plan));
            harness.AddBlock("pc.ram", 4 << 20);
            harness.WriteAll(0);

            // Warm-up: JIT, tiering, first waits and wake-ups.
            for (int i = 0; i < 3; i++)
            {
                harness.SendAll();
                harness.EndSection();
            }

            // Three windows of 5 passes (5120 pages each). The caller and every worker are measured on their own threads
            // and must allocate nothing at all. The whole process also runs the test host's threads, which allocate a few
            // KB per window whatever the engine does (and now and then about 1 MB), so for it the best window must stay
            // below 12 B/page: any object allocated per page would cost at least 24.
            const int Rounds = 5;
            const long Pages = Rounds * 1024;
            long callerTotal = 0;
            long bestProcess = long.MaxValue;
            for (int window = 0; window < 3; window++)
            {
                long threadBefore = GC.GetAllocatedBytesForCurrentThread();
                long processBefore = GC.GetTotalAllocatedBytes(precise: true);
                for (int i = 0; i < Rounds; i++)
                {
                    harness.SendAll();
                    harness.EndSection();
                }

                long caller = GC.GetAllocatedBytesForCurrentThread() - threadBefore;
                long process = GC.GetTotalAllocatedBytes(precise: true) - processBefore;
                callerTotal += caller;
                bestProcess = Math.Min(bestProcess, process);
                output.WriteLine($"{method}, {threads} threads, {Pages} pages: caller {caller} B, whole process {process} B ({(double)process / Pages:F3} B/page)");
            }

            output.WriteLine($"workers: {plan.WorkerAllocatedBytes} B over {plan.Calls} codec calls");
            harness.AssertIdentical();
            Assert.Equal(0, callerTotal);
            Assert.Equal(0, plan.WorkerAllocatedBytes);
            Assert.True(bestProcess < Pages * 12, $"the process allocated {bestProcess} bytes for {Pages} pages in its best window");
        });
    }
}
