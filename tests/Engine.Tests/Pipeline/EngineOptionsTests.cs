using Engine.Codecs;
using Engine.Pipeline;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>Bad parameters are rejected before anything starts, naming the parameter, the value and what is accepted.</summary>
public sealed class EngineOptionsTests
{
    [Fact]
    public void DefaultsAreQemus()
    {
        var compression = new CompressionEngineOptions();
        Assert.Equal(8, compression.CompressThreads);
        Assert.True(compression.CompressWaitThread);
        Assert.Equal(CompressMethod.Zlib, compression.Compression.Method);
        Assert.Equal(1, compression.Compression.Level);
        Assert.Equal(2, new DecompressionEngineOptions().DecompressThreads);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    [InlineData(-1)]
    public void CompressThreadsOutOfRange(int threads)
    {
        EngineParameterException e = Assert.Throws<EngineParameterException>(
            () => new CompressionEngine(new CompressionEngineOptions { CompressThreads = threads }));
        Assert.Equal("compress-threads", e.Parameter);
        Assert.Contains($"compress-threads {threads}", e.Message);
        Assert.Contains("1 to 255", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(256)]
    public void DecompressThreadsOutOfRange(int threads)
    {
        EngineParameterException e = Assert.Throws<EngineParameterException>(
            () => new DecompressionEngine(new DecompressionEngineOptions { DecompressThreads = threads }));
        Assert.Equal("decompress-threads", e.Parameter);
        Assert.Contains($"decompress-threads {threads}", e.Message);
        Assert.Contains("1 to 255", e.Message);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(3)]
    [InlineData(2048)]
    public void RingCapacityMustBeAPowerOfTwoUpTo1024(int capacity)
    {
        EngineParameterException e = Assert.Throws<EngineParameterException>(
            () => new CompressionEngineOptions { RingCapacity = capacity }.Validate());
        Assert.Equal("ring-capacity", e.Parameter);
        Assert.Contains(capacity.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message);
        Assert.Throws<EngineParameterException>(() => new DecompressionEngineOptions { RingCapacity = capacity }.Validate());
    }

    [Fact]
    public void UnknownMethodAndZlibImplementationAreRejected()
    {
        Assert.Equal("compress-method", Assert.Throws<EngineParameterException>(
            () => new DecompressionEngineOptions { Method = (CompressMethod)9 }.Validate()).Parameter);
        Assert.Equal("zlib-implementation", Assert.Throws<EngineParameterException>(
            () => new CompressionEngineOptions { Zlib = (ZlibImplementation)9 }.Validate()).Parameter);
    }
}
