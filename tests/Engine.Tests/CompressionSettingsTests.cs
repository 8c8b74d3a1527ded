using Engine.Codecs;
using Xunit;

namespace Engine.Tests;

public sealed class CompressionSettingsTests
{
    [Theory]
    [InlineData(CompressMethod.Zlib, 0)]
    [InlineData(CompressMethod.Zlib, 9)]
    [InlineData(CompressMethod.Zstd, 1)]
    [InlineData(CompressMethod.Zstd, 22)]
    [InlineData(CompressMethod.Zstd, -1)]
    [InlineData(CompressMethod.Zstd, -100)]
    public void AcceptsLevelsInTheMethodsRange(CompressMethod method, int level)
    {
        CompressionSettings s = CompressionSettings.Create(method, level);
        Assert.Equal(method, s.Method);
        Assert.Equal(level, s.Level);
    }

    [Theory]
    [InlineData(CompressMethod.Zlib, -1, "zlib")]
    [InlineData(CompressMethod.Zlib, 10, "zlib")]
    [InlineData(CompressMethod.Zstd, 0, "zstd")]
    [InlineData(CompressMethod.Zstd, 23, "zstd")]
    [InlineData(CompressMethod.Zstd, -101, "zstd")]
    public void RejectsLevelsOutsideTheMethodsRangeNamingMethodLevelAndRange(CompressMethod method, int level, string name)
    {
        EngineParameterException e = Assert.Throws<EngineParameterException>(() => CompressionSettings.Create(method, level));
        Assert.Equal("compress-level", e.Parameter);
        Assert.Contains(name, e.Message);
        Assert.Contains(level.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Contains("accepted", e.Message);
    }

    [Fact]
    public void UnknownMethodListsTheKnownOnes()
    {
        EngineParameterException e = Assert.Throws<EngineParameterException>(() => CompressionSettings.ParseMethod("lz4"));
        Assert.Equal("compress-method", e.Parameter);
        Assert.Contains("lz4", e.Message);
        Assert.Contains("none, zlib, zstd", e.Message);
    }
}
