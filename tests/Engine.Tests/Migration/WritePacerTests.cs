using Engine.Migration;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class WritePacerTests
{
    private const long Frequency = 1_000_000; // a microsecond clock

    [Theory]
    [InlineData(0.0, 5000)]
    [InlineData(0.2, 4000)]
    [InlineData(0.5, 2500)]
    [InlineData(0.99, 50)]
    public void OneSecondOfSmallStepsGivesTheThrottledRate(double throttle, int expected)
    {
        var pacer = new WritePacer(5000, Frequency, now: 0);
        long writes = 0;
        for (long t = 1000; t <= Frequency; t += 1000)
        {
            writes += pacer.Take(t, throttle);
        }

        Assert.InRange(writes, expected - 1, expected);
    }

    [Fact]
    public void ALongGapDoesNotBecomeABurst()
    {
        var pacer = new WritePacer(10_000, Frequency, now: 0);
        Assert.InRange(pacer.Take(Frequency * 5, 0), 1, 100); // at most 10 ms of writes
    }

    [Fact]
    public void RestartForgetsThePause()
    {
        var pacer = new WritePacer(10_000, Frequency, now: 0);
        pacer.Restart(Frequency * 5);
        Assert.Equal(0, pacer.Take((Frequency * 5) + 50, 0));
        Assert.Equal(10, pacer.Take((Frequency * 5) + 1050, 0));
    }

    [Fact]
    public void ZeroRateNeverWrites()
    {
        var pacer = new WritePacer(0, Frequency, now: 0);
        Assert.Equal(0, pacer.Take(Frequency * 100, 0));
    }
}
