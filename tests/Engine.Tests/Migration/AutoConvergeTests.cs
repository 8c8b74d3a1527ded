using Engine.Migration;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class AutoConvergeTests
{
    [Fact]
    public void ThrottlesOnTheSecondHighPeriodThenStepsUpToTheMaximum()
    {
        var p = new MigrationParameters { AutoConverge = true, MaxCpuThrottle = 45 };
        var ac = new AutoConverge(p);

        Assert.False(ac.EndPeriod(bytesSent: 1000, bytesDirtied: 501)); // high, first
        Assert.Equal(0, ac.ThrottlePercent);
        Assert.True(ac.EndPeriod(1000, 501));                            // high, second: start at 20
        Assert.Equal(20, ac.ThrottlePercent);
        Assert.False(ac.EndPeriod(1000, 900));
        Assert.True(ac.EndPeriod(1000, 900));
        Assert.Equal(30, ac.ThrottlePercent);
        ac.EndPeriod(1000, 900);
        ac.EndPeriod(1000, 900);
        Assert.Equal(40, ac.ThrottlePercent);
        ac.EndPeriod(1000, 900);
        ac.EndPeriod(1000, 900);
        Assert.Equal(45, ac.ThrottlePercent);
    }

    [Fact]
    public void DirtyingAtOrBelowTheThresholdNeverThrottles()
    {
        var ac = new AutoConverge(new MigrationParameters { AutoConverge = true });
        for (int i = 0; i < 10; i++)
        {
            Assert.False(ac.EndPeriod(1000, 500));
        }

        Assert.Equal(0, ac.ThrottlePercent);
    }

    [Fact]
    public void OffMeansOff()
    {
        var ac = new AutoConverge(new MigrationParameters());
        for (int i = 0; i < 10; i++)
        {
            ac.EndPeriod(1000, 100_000);
        }

        Assert.Equal(0, ac.ThrottlePercent);
    }
}
