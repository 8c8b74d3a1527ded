using Engine.Codecs;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class MigrationParametersTests
{
    [Fact]
    public void DefaultsAreQemus()
    {
        var p = new MigrationParameters();
        Assert.Equal(CompressMethod.Zlib, p.Compression.Method);
        Assert.Equal(1, p.Compression.Level);
        Assert.Equal(8, p.CompressThreads);
        Assert.Equal(2, p.DecompressThreads);
        Assert.True(p.CompressWaitThread);
        Assert.Equal(128L << 20, p.MaxBandwidth);
        Assert.Equal(300, p.DowntimeLimit);
        Assert.False(p.AutoConverge);
        Assert.Equal(20, p.CpuThrottleInitial);
        Assert.Equal(10, p.CpuThrottleIncrement);
        Assert.Equal(99, p.MaxCpuThrottle);
        Assert.Equal(50, p.ThrottleTriggerThreshold);
    }

    [Theory]
    [InlineData("compress-threads", "0", "1 to 255")]
    [InlineData("compress-threads", "256", "1 to 255")]
    [InlineData("decompress-threads", "0", "1 to 255")]
    [InlineData("downtime-limit", "-1", "0 to 2000000")]
    [InlineData("downtime-limit", "2000001", "0 to 2000000")]
    [InlineData("cpu-throttle-initial", "100", "1 to 99")]
    [InlineData("cpu-throttle-increment", "0", "1 to 99")]
    [InlineData("max-cpu-throttle", "100", "1 to 99")]
    [InlineData("throttle-trigger-threshold", "101", "1 to 100")]
    [InlineData("compress-level", "10", "0 to 9")]
    [InlineData("compress-wait-thread", "maybe", "on/off")]
    [InlineData("max-bandwidth", "-5", "bandwidth")]
    [InlineData("max-bandwidth", "12furlongs", "bandwidth")]
    public void OutOfRangeValuesAreRejectedNamingParameterValueAndRange(string name, string value, string accepted)
    {
        var p = new MigrationParameters();
        EngineParameterException e = Assert.Throws<EngineParameterException>(() => p.Set(name, value));
        Assert.Equal(name, e.Parameter);
        Assert.Contains(name, e.Message);
        Assert.Contains(value, e.Message);
        Assert.Contains(accepted, e.Message);
    }

    [Fact]
    public void PropertySettersValidateToo()
    {
        var p = new MigrationParameters();
        Assert.Throws<EngineParameterException>(() => p.CompressThreads = 300);
        Assert.Throws<EngineParameterException>(() => p.MaxBandwidth = -1);
        Assert.Equal(8, p.CompressThreads);
    }

    [Fact]
    public void MethodAndLevelAreCheckedTogether()
    {
        var p = new MigrationParameters();
        Assert.Throws<EngineParameterException>(() => p.Set("compress-level", "15")); // zlib's range
        p.Set("compress-method", "zstd");
        p.Set("compress-level", "15");
        Assert.Equal(CompressionSettings.Create(CompressMethod.Zstd, 15), p.Compression);
        EngineParameterException e = Assert.Throws<EngineParameterException>(() => p.Set("compress-method", "zlib")); // 15 is not zlib
        Assert.Contains("zlib", e.Message);
    }

    [Theory]
    [InlineData("0", 0L)]
    [InlineData("unlimited", 0L)]
    [InlineData("1000", 1000L)]
    [InlineData("100M", 100L << 20)]
    [InlineData("100MiB", 100L << 20)]
    [InlineData("1G", 1L << 30)]
    [InlineData("1.5G", 3L << 29)]
    [InlineData("64k", 64L << 10)]
    [InlineData("100Mbit", 12_500_000L)]
    [InlineData("1Gbit", 125_000_000L)]
    public void BandwidthUnits(string text, long bytesPerSecond)
    {
        Assert.Equal(bytesPerSecond, MigrationParameters.ParseBandwidth(text));
    }

    [Fact]
    public void UnknownParameterListsTheKnownOnes()
    {
        EngineParameterException e = Assert.Throws<EngineParameterException>(() => new MigrationParameters().Set("compress-speed", "1"));
        Assert.Contains("compress-threads", e.Message);
    }

    [Fact]
    public void CloneIsIndependentAndDescribeListsEveryParameter()
    {
        var p = new MigrationParameters();
        MigrationParameters q = p.Clone();
        q.CompressThreads = 4;
        Assert.Equal(8, p.CompressThreads);
        Assert.Equal(MigrationParameters.Names, p.Describe().Select(kv => kv.Key));
    }
}
