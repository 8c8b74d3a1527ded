using System.Net.Sockets;
using Engine.Codecs;
using Engine.Migration;
using Engine.Tests.Support;
using Engine.Transport;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Migration;

/// <summary>
/// The migration loop in steady state: what a whole live migration (source thread, compress workers, stream writer,
/// socket, stream reader, decompress workers, all in this process) allocates per page once it is warm.
/// </summary>
/// <remarks>
/// In the engine-threads collection, so nothing else runs meanwhile and no engine thread outlives a test. The figure is
/// the process's total allocation (every thread, <see cref="GC.GetTotalAllocatedBytes(bool)"/>) between two iterations
/// of the migration, divided by the pages sent in between: it includes the test host's own background allocations, and
/// everything the migration allocates once per iteration (a statistics snapshot for the progress callback, the stream
/// reader's per-read wait) spread over that iteration's pages. An object allocated per page would cost at least 24 bytes
/// per page, so the budget is set below that.
/// </remarks>
public sealed class MigrationAllocationTests(ITestOutputHelper output) : EngineTestBase
{
    /// <summary>Bytes per page allowed in the median steady-state iteration: less than the smallest object.</summary>
    private const double BudgetBytesPerPage = 16;

    [Theory]
    [InlineData(CompressMethod.Zlib)]
    [InlineData(CompressMethod.Zstd)]
    public void ALiveMigrationAllocatesLessThanAnObjectPerPageInSteadyState(CompressMethod method)
    {
        Hang.Guard(90, () =>
        {
            // Rate-limited, so that the number of iterations does not depend on how fast this machine is: 12 MiB/s against a
            // stream of some 15 MB is more than ten 100 ms windows. The source waits out each window in poll(), which
            // allocates nothing.
            var parameters = new MigrationParameters { Compression = CompressionSettings.Create(method, 1), CompressThreads = 2, DecompressThreads = 2, MaxBandwidth = 12L << 20 };

            // Warm-up: JIT and tiering of the whole path, the socket, the codecs.
            using (MigrationGuest warm = MigrationGuest.CreateSynthetic(8L << 20))
            {
                Migrate(warm, parameters, null);
            }

            // A still guest: every iteration is one rate-limit window of pages, a few thousand of them.
            const int MaxSamples = 4096;
            long[] allocated = new long[MaxSamples];
            long[] pages = new long[MaxSamples];
            long[] sourceThread = new long[MaxSamples];
            int count = 0;
            using MigrationGuest guest = MigrationGuest.CreateSynthetic(96L << 20);
            Migrate(guest, parameters, info =>
            {
                if (count < MaxSamples)
                {
                    allocated[count] = GC.GetTotalAllocatedBytes(precise: true);
                    sourceThread[count] = GC.GetAllocatedBytesForCurrentThread();
                    pages[count] = info.DuplicatePages + info.NormalPages + info.CompressedPages;
                    count++;
                }
            });

            // Skip the first two iterations (the guest's first pages, the destination's first allocations).
            var perPage = new List<double>();
            for (int i = 3; i < count; i++)
            {
                long sent = pages[i] - pages[i - 1];
                if (sent > 0)
                {
                    perPage.Add((double)(allocated[i] - allocated[i - 1]) / sent);
                    output.WriteLine($"iteration {i}: {sent} pages, {allocated[i] - allocated[i - 1]} bytes, {perPage[^1]:F2} B/page; source thread {sourceThread[i] - sourceThread[i - 1]} bytes");
                }
            }

            Assert.True(perPage.Count >= 3, $"only {perPage.Count} steady-state iterations: the guest is too small for this machine");
            perPage.Sort();
            double median = perPage[perPage.Count / 2];
            output.WriteLine($"{method}: median {median:F2} B/page over {perPage.Count} iterations");
            Assert.True(median < BudgetBytesPerPage, $"the migration allocated {median:F2} bytes per page in its median steady-state iteration");
        });
    }

    [Fact]
    public void TheDestinationThreadAllocatesNothingPerPage()
    {
        // Regression: the stream reader built a description string for every compressed page (an interpolated argument is
        // formatted before the call), about 40 bytes per page on the destination's reading thread. The reading thread is
        // measured alone here, on streams read from memory, as the difference between a small and a large guest, so
        // every fixed cost (guest memory, engine, buffers, checksums) cancels out.
        long small = DestinationThreadBytes(4L << 20);
        long large = DestinationThreadBytes(36L << 20);
        double perPage = (double)(large - small) / ((32L << 20) / 4096);
        output.WriteLine($"destination thread: {small} B for 4 MiB, {large} B for 36 MiB: {perPage:F3} B/page");
        Assert.True(perPage < 1, $"the destination's thread allocated {perPage:F2} bytes per page");
    }

    private static long DestinationThreadBytes(long guestSize)
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(guestSize);
        var stream = new MemoryStream();
        new SourceMigration(guest, new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 }).Run(stream);
        byte[] bytes = stream.ToArray();
        var destination = new DestinationMigration();
        destination.Run(new MemoryStream(bytes)).Memory.Dispose(); // warm
        long before = GC.GetAllocatedBytesForCurrentThread();
        DestinationResult result = destination.Run(new MemoryStream(bytes));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        result.Memory.Dispose();
        return allocated;
    }

    private static void Migrate(MigrationGuest guest, MigrationParameters parameters, Action<MigrationInfo>? progress)
    {
        TimeSpan io = TimeSpan.FromSeconds(30);
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(io);
        using (sourceEnd)
        using (destinationEnd)
        {
            var destination = new DestinationMigration(new DestinationOptions { Parameters = parameters, ReadTimeout = io });
            Task<DestinationResult> incoming = Task.Factory.StartNew(() => destination.Run(destinationEnd), TaskCreationOptions.LongRunning);
            MigrationResult result = new SourceMigration(guest, parameters, new SourceMigrationOptions { Progress = progress }).Run(sourceEnd);
            incoming.GetAwaiter().GetResult().Memory.Dispose();
            Assert.True(result.ChecksumsMatch);
        }
    }
}
