using Engine.Codecs;
using Engine.Migration;
using Engine.Multifd;
using Engine.Tests.Support;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Multifd;

/// <summary>
/// A whole multifd migration in steady state (migration thread, send channels, sockets, main reader, receive channels, all
/// in this process) allocates less than an object per page, measured as <see cref="MigrationAllocationTests"/> does: the
/// process's allocation between two iterations over the pages sent in between, median over the iterations.
/// </summary>
public sealed class MultifdAllocationTests(ITestOutputHelper output) : EngineTestBase
{
    private const double BudgetBytesPerPage = 16;

    [Theory]
    [InlineData(CompressMethod.Zlib)]
    [InlineData(CompressMethod.Zstd)]
    [InlineData(CompressMethod.None)]
    public void AMultifdMigrationAllocatesLessThanAnObjectPerPageInSteadyState(CompressMethod method)
    {
        Hang.Guard(90, () =>
        {
            // Rate-limited, so the iteration count does not depend on this machine's speed.
            var parameters = new MigrationParameters { MaxBandwidth = method == CompressMethod.None ? 24L << 20 : 8L << 20 };
            var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = method };
            using (MigrationGuest warm = MigrationGuest.CreateSynthetic(8L << 20))
            {
                Migrate(warm, parameters, multifd, null);
            }

            const int MaxSamples = 4096;
            long[] allocated = new long[MaxSamples];
            long[] pages = new long[MaxSamples];
            int count = 0;
            using MigrationGuest guest = MigrationGuest.CreateSynthetic(64L << 20);
            Migrate(guest, parameters, multifd, info =>
            {
                if (count < MaxSamples)
                {
                    allocated[count] = GC.GetTotalAllocatedBytes(precise: true);
                    pages[count] = info.DuplicatePages + info.NormalPages + info.CompressedPages;
                    count++;
                }
            });

            var perPage = new List<double>();
            for (int i = 3; i < count; i++)
            {
                long sent = pages[i] - pages[i - 1];
                if (sent > 0)
                {
                    perPage.Add((double)(allocated[i] - allocated[i - 1]) / sent);
                }
            }

            Assert.True(perPage.Count >= 3, $"only {perPage.Count} steady-state iterations");
            perPage.Sort();
            double median = perPage[perPage.Count / 2];
            output.WriteLine($"{method}: median {median:F2} B/page over {perPage.Count} iterations");
            Assert.True(median < BudgetBytesPerPage, $"the multifd migration allocated {median:F2} bytes per page in its median steady-state iteration");
        });
    }

    private static void Migrate(MigrationGuest guest, MigrationParameters parameters, MigrationParameters multifd, Action<MigrationInfo>? progress)
    {
        (MigrationResult source, DestinationResult destination, _) = MultifdLoopback.Migrate(guest, parameters, multifd, new SourceMigrationOptions { Progress = progress, ReplyTimeout = MultifdLoopback.IoTimeout })
            .GetAwaiter().GetResult();
        destination.Memory.Dispose();
        Assert.True(source.ChecksumsMatch);
    }
}
