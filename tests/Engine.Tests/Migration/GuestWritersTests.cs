using System.Runtime.InteropServices;
using Engine.Memory;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class GuestWritersTests
{
    private const int PageSize = 4096;

    [Fact(Timeout = 30_000)]
    public async Task EveryChangedPageIsMarkedAndPauseStopsAllWrites()
    {
        using var guest = new TestGuest([1024, 512]);
        using var writers = new GuestWriters(guest.Regions, guest.Content, new GuestWriterOptions { Threads = 3, PagesPerSecond = 200_000 });
        writers.Start();
        await WaitForWrites(writers, 5000);
        writers.Pause();

        long writes = writers.Writes;
        byte[] atPause = guest.Copy();
        await Task.Delay(50); // a paused guest stays still; a broken pause would show here, a working one cannot fail
        Assert.Equal(writes, writers.Writes);
        Assert.Equal(atPause, guest.Copy());

        int changed = 0;
        for (int r = 0; r < guest.Regions.Length; r++)
        {
            for (long p = 0; p < guest.Regions[r].PageCount; p++)
            {
                if (!guest.Regions[r].Page(p).SequenceEqual(guest.Original(r, p)))
                {
                    changed++;
                    Assert.True(guest.Regions[r].DirtyLog.IsDirty(p), $"block {r} page {p} changed but is not marked dirty");
                }
            }
        }

        Assert.True(changed > 100, $"only {changed} pages changed");
        Assert.Null(writers.Failure);
    }

    [Fact(Timeout = 30_000)]
    public async Task WritesChangeFewBytesNotWholePages()
    {
        using var guest = new TestGuest([2048]);
        using var writers = new GuestWriters(guest.Regions, guest.Content, new GuestWriterOptions { Threads = 1, PagesPerSecond = 100_000, HotFraction = 1 });
        writers.Start();
        await WaitForWrites(writers, 500);
        writers.Pause();

        var changedBytes = new List<int>();
        for (long p = 0; p < 2048; p++)
        {
            ReadOnlySpan<byte> now = guest.Regions[0].Page(p);
            ReadOnlySpan<byte> before = guest.Original(0, p);
            int n = 0;
            for (int i = 0; i < PageSize; i++)
            {
                n += now[i] != before[i] ? 1 : 0;
            }

            if (n > 0)
            {
                changedBytes.Add(n);
            }
        }

        // Each write changes at most 64 bytes (a counter, a pointer, a word, a run of 8 fields, a freed 64-byte object), so
        // the bytes changed can never exceed 64 per write, however late the pause comes.
        Assert.NotEmpty(changedBytes);
        Assert.True(changedBytes.Sum() <= 64L * writers.Writes, $"{changedBytes.Sum()} bytes changed by {writers.Writes} writes");
        Assert.True(changedBytes.Sum() < changedBytes.Count * 4096L / 4, "writes must not rewrite whole pages");
    }

    [Fact]
    public void NinetyPercentOfWritesGoToTheTenPercentHotSet()
    {
        using var guest = new TestGuest([8192]);
        using var writers = new GuestWriters(guest.Regions, guest.Content, new GuestWriterOptions());
        var rng = new SplitMix64(5);
        int hot = 0;
        const int Draws = 100_000;
        for (int i = 0; i < Draws; i++)
        {
            hot += writers.IsHot(writers.ChoosePage(ref rng)) ? 1 : 0;
        }

        long hotPages = Enumerable.Range(0, 8192).Count(p => writers.IsHot(p));
        Assert.InRange(hotPages / 8192.0, 0.09, 0.11);

        // 90 % aimed at the hot set, plus the cold draws that land on hot pages by chance (10 % of 10 %).
        Assert.InRange(hot / (double)Draws, 0.90, 0.92);
    }

    [Fact(Timeout = 30_000)]
    public async Task PauseBeforeStartKeepsTheGuestStillAndDisposeJoinsEveryThread()
    {
        using var guest = new TestGuest([256]);
        var writers = new GuestWriters(guest.Regions, guest.Content, new GuestWriterOptions { Threads = 4, PagesPerSecond = 100_000 });
        writers.Pause();
        writers.Start();
        await Task.Delay(20);
        Assert.Equal(0, writers.Writes);

        writers.Resume();
        await WaitForWrites(writers, 100);
        writers.Dispose();
        Assert.Equal(0, writers.RunningThreads);
    }

    [Fact]
    public void ThrottleIsAShareOfTime()
    {
        using var guest = new TestGuest([16]);
        using var writers = new GuestWriters(guest.Regions, guest.Content, new GuestWriterOptions());
        writers.Throttle = 0.99;
        Assert.Equal(0.99, writers.Throttle);
        Assert.Throws<ArgumentOutOfRangeException>(() => writers.Throttle = 1.0);
        Assert.Throws<EngineParameterException>(() => new GuestWriterOptions { Threads = 0 }.Validate());
    }

    private static async Task WaitForWrites(GuestWriters writers, long count)
    {
        while (writers.Writes < count)
        {
            Assert.Null(writers.Failure);
            await Task.Delay(5);
        }
    }

    /// <summary>Native RAM blocks filled with synthetic content, and a copy of the content to compare with.</summary>
    private sealed unsafe class TestGuest : IDisposable
    {
        private readonly byte[][] _original;

        public TestGuest(int[] pagesPerBlock)
        {
            Content = new SyntheticContent(seed: 11, zeroFraction: 0.3);
            Regions = new GuestRegion[pagesPerBlock.Length];
            _original = new byte[pagesPerBlock.Length][];
            long first = 0;
            for (int i = 0; i < pagesPerBlock.Length; i++)
            {
                long length = (long)pagesPerBlock[i] * PageSize;
                byte* memory = (byte*)NativeMemory.AlignedAlloc((nuint)length, PageSize);
                var span = new Span<byte>(memory, (int)length);
                Content.FillRegion(span, first);
                _original[i] = span.ToArray();
                Regions[i] = new GuestRegion($"block{i}", memory, length, new DirtyBitmap(pagesPerBlock[i]));
                first += pagesPerBlock[i];
            }
        }

        public SyntheticContent Content { get; }

        public GuestRegion[] Regions { get; }

        public ReadOnlySpan<byte> Original(int block, long page) => _original[block].AsSpan((int)(page * PageSize), PageSize);

        public byte[] Copy() => Regions.SelectMany(r => new Span<byte>(r.BaseAddress, (int)r.Length).ToArray()).ToArray();

        public void Dispose()
        {
            foreach (GuestRegion r in Regions)
            {
                NativeMemory.AlignedFree(r.BaseAddress);
            }
        }
    }
}
