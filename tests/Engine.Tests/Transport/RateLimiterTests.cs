using Engine.Tests.Support;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Transport;

public sealed class RateLimiterTests
{
    private static readonly TimeSpan Ms = TimeSpan.FromMilliseconds(1);

    [Fact]
    public void AllowsOneTenthOfTheBandwidthPerWindow()
    {
        var clock = new ManualTimeProvider();
        var limiter = new RateLimiter(1_000_000, clock);
        Assert.Equal(100_000, limiter.BytesPerWindow);

        limiter.Record(100_000);
        Assert.False(limiter.IsOverLimit); // QEMU: over only when used > max

        limiter.Record(1);
        Assert.True(limiter.IsOverLimit);
        Assert.Equal(TimeSpan.FromMilliseconds(100), limiter.TimeUntilWindowEnd);
    }

    [Fact]
    public void ANewWindowStartsAfter100MsAndOwesTheOldOnesOvershoot()
    {
        var clock = new ManualTimeProvider();
        var limiter = new RateLimiter(1_000_000, clock);
        limiter.Record(250_000);
        Assert.True(limiter.IsOverLimit);

        clock.Advance(99 * Ms);
        Assert.True(limiter.IsOverLimit);

        clock.Advance(1 * Ms);
        Assert.True(limiter.IsOverLimit);          // 150 000 carried into a window of 100 000
        Assert.Equal(150_000, limiter.UsedInWindow);

        clock.Advance(100 * Ms);
        Assert.False(limiter.IsOverLimit);
        Assert.Equal(50_000, limiter.UsedInWindow);

        clock.Advance(100 * Ms);
        Assert.Equal(0, limiter.UsedInWindow);
    }

    [Fact]
    public void BurstsAverageOutToTheBandwidth()
    {
        // A sender that writes 64 records after it notices the limit (pages in flight) still averages the bandwidth.
        var clock = new ManualTimeProvider();
        const long Bandwidth = 4L << 20;
        var limiter = new RateLimiter(Bandwidth, clock);
        long sent = 0;
        long end = clock.GetTimestamp() + TimeSpan.FromSeconds(10).Ticks;
        while (clock.GetTimestamp() < end)
        {
            if (limiter.IsOverLimit)
            {
                clock.Advance(limiter.TimeUntilWindowEnd > TimeSpan.Zero ? limiter.TimeUntilWindowEnd : Ms);
                continue;
            }

            for (int i = 0; i < 64; i++)
            {
                limiter.Record(4096);
                sent += 4096;
            }

            clock.Advance(TimeSpan.FromMicroseconds(50));
        }

        Assert.InRange(sent, (Bandwidth * 10) - (Bandwidth / 10), (Bandwidth * 10) + (64 * 4096 * 2));
    }

    [Fact]
    public void IdleTimeIsNotBanked()
    {
        var clock = new ManualTimeProvider();
        var limiter = new RateLimiter(1_000_000, clock);
        clock.Advance(TimeSpan.FromSeconds(5));
        limiter.Record(100_001);
        Assert.True(limiter.IsOverLimit);
    }

    [Fact]
    public void UnlimitedNeverLimits()
    {
        var clock = new ManualTimeProvider();
        var limiter = new RateLimiter(0, clock);
        limiter.Record(long.MaxValue / 2);
        Assert.True(limiter.IsUnlimited);
        Assert.False(limiter.IsOverLimit);
        Assert.False(limiter.WaitIfOverLimit());
    }

    [Fact]
    public void LiftingTheLimitTakesEffectAtOnce()
    {
        var clock = new ManualTimeProvider();
        var limiter = new RateLimiter(1_000_000, clock);
        limiter.Record(500_000);
        Assert.True(limiter.IsOverLimit);
        limiter.SetBandwidth(0);
        Assert.False(limiter.IsOverLimit);
    }

    [Fact]
    public void SendingAsFastAsAllowedAveragesTheBandwidth()
    {
        // 8 MiB/s for 10 simulated seconds of 4 KiB records, each taking 20 us to send.
        var clock = new ManualTimeProvider();
        const long Bandwidth = 8L << 20;
        var limiter = new RateLimiter(Bandwidth, clock);
        long sent = 0;
        long end = clock.GetTimestamp() + TimeSpan.FromSeconds(10).Ticks;
        while (clock.GetTimestamp() < end)
        {
            if (limiter.IsOverLimit)
            {
                clock.Advance(limiter.TimeUntilWindowEnd);
                continue;
            }

            limiter.Record(4096);
            sent += 4096;
            clock.Advance(TimeSpan.FromMicroseconds(20));
        }

        // Each of the 100 windows may overshoot by one record.
        Assert.InRange(sent, Bandwidth * 10 - 4096, (Bandwidth * 10) + (100 * 4096) + 4096);
    }

    [Fact(Timeout = 10_000)]
    public async Task WaitBlocksUntilTheWindowEnds()
    {
        var clock = new ManualTimeProvider();
        var limiter = new RateLimiter(1_000_000, clock);
        limiter.Record(200_000);

        Task<bool> waiting = Task.Run(() => limiter.WaitIfOverLimit());
        while (clock.PendingTimers == 0)
        {
            await Task.Delay(1);
        }

        Assert.False(waiting.IsCompleted);
        clock.Advance(100 * Ms);
        Assert.True(await waiting);
        Assert.False(limiter.IsOverLimit);
    }

    [Fact(Timeout = 10_000)]
    public async Task WaitCanBeCancelled()
    {
        var clock = new ManualTimeProvider();
        var limiter = new RateLimiter(1_000_000, clock);
        limiter.Record(200_000);
        using var cts = new CancellationTokenSource();

        Task<bool> waiting = Task.Run(() => limiter.WaitIfOverLimit(cts.Token));
        while (clock.PendingTimers == 0)
        {
            await Task.Delay(1);
        }

        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => waiting);
    }
}
