using Engine.Codecs;
using Engine.Migration;
using Engine.Relay;
using Engine.Tools;
using Engine.Transport;
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
        Assert.Equal(2, p.MultifdChannels);
        Assert.Equal(CompressMethod.None, p.MultifdCompression);
        Assert.Equal(1, p.MultifdZlibLevel);
        Assert.Equal(1, p.MultifdZstdLevel);
        Assert.Null(p.TlsCreds);
        Assert.Null(p.TlsHostname);
        Assert.Null(p.TlsAuthz);
    }

    [Theory]
    [InlineData("multifd-channels", "1")]
    [InlineData("multifd-channels", "255")]
    [InlineData("multifd-compression", "none")]
    [InlineData("multifd-compression", "zlib")]
    [InlineData("multifd-compression", "zstd")]
    [InlineData("multifd-zlib-level", "0")]
    [InlineData("multifd-zlib-level", "9")]
    [InlineData("multifd-zstd-level", "0")]
    [InlineData("multifd-zstd-level", "20")]
    [InlineData("tls-creds", "/etc/pki/qemu")]
    [InlineData("tls-creds", "")]
    [InlineData("tls-hostname", "dest.example.org")]
    [InlineData("tls-hostname", "192.0.2.7")]
    [InlineData("tls-hostname", "")]
    [InlineData("tls-authz", "CN=client,O=Example")]
    [InlineData("tls-authz", "CN=a,O=Example;CN=b,O=Example")]
    [InlineData("tls-authz", "")]
    public void EveryMultifdAndTlsNameRoundTrips(string name, string value)
    {
        var p = new MigrationParameters();
        p.Set(name, value);
        Assert.Contains(name, MigrationParameters.Names);
        Assert.Equal(value, p.Describe().Single(kv => kv.Key == name).Value);

        // A copy carries it, and setting the described value on a fresh set gives the same description.
        MigrationParameters copy = p.Clone();
        var again = new MigrationParameters();
        again.Set(name, copy.Describe().Single(kv => kv.Key == name).Value);
        Assert.Equal(p.Describe(), again.Describe());
    }

    [Fact]
    public void MultifdAndTlsNamesSetTheirProperties()
    {
        var p = new MigrationParameters();
        p.Set("multifd-channels", "4");
        p.Set("multifd-compression", "ZSTD");
        p.Set("multifd-zlib-level", "6");
        p.Set("multifd-zstd-level", "3");
        p.Set("tls-creds", "/creds");
        p.Set("tls-hostname", "host.example");
        p.Set("tls-authz", "CN=client");
        Assert.Equal(4, p.MultifdChannels);
        Assert.Equal(CompressMethod.Zstd, p.MultifdCompression);
        Assert.Equal(6, p.MultifdZlibLevel);
        Assert.Equal(3, p.MultifdZstdLevel);
        Assert.Equal("/creds", p.TlsCreds);
        Assert.Equal("host.example", p.TlsHostname);
        Assert.Equal("CN=client", p.TlsAuthz);

        // QEMU's multifd levels are not compress-level's: zstd 0 is valid here (libzstd's default), zlib 10 is not there.
        p.MultifdZstdLevel = 0;
        Assert.Throws<EngineParameterException>(() => p.Compression = CompressionSettings.Create(CompressMethod.Zstd, 0));
        Assert.Equal(CompressMethod.Zlib, p.Compression.Method);
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
    [InlineData("multifd-channels", "0", "1 to 255")]
    [InlineData("multifd-channels", "256", "1 to 255")]
    [InlineData("multifd-channels", "two", "not an integer")]
    [InlineData("multifd-compression", "lz4", "none, zlib or zstd")]
    [InlineData("multifd-compression", "qpl", "none, zlib or zstd")]
    [InlineData("multifd-zlib-level", "10", "0 to 9")]
    [InlineData("multifd-zlib-level", "-1", "0 to 9")]
    [InlineData("multifd-zstd-level", "21", "0 to 20")]
    [InlineData("multifd-zstd-level", "-1", "0 to 20")]
    [InlineData("tls-creds", "   ", "not a directory")]
    [InlineData("tls-hostname", "bad host!", "not a DNS name or an IP address")]
    [InlineData("tls-authz", "not a dn", "not a distinguished name")]
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
        Assert.Equal("multifd-channels", Assert.Throws<EngineParameterException>(() => p.MultifdChannels = 256).Parameter);
        Assert.Equal("multifd-compression", Assert.Throws<EngineParameterException>(() => p.MultifdCompression = (CompressMethod)9).Parameter);
        Assert.Equal("multifd-zlib-level", Assert.Throws<EngineParameterException>(() => p.MultifdZlibLevel = 10).Parameter);
        Assert.Equal("multifd-zstd-level", Assert.Throws<EngineParameterException>(() => p.MultifdZstdLevel = 21).Parameter);
        Assert.Equal("tls-hostname", Assert.Throws<EngineParameterException>(() => p.TlsHostname = "a b").Parameter);
        Assert.Equal("tls-authz", Assert.Throws<EngineParameterException>(() => p.TlsAuthz = ";").Parameter);
        Assert.Equal(2, p.MultifdChannels);
        Assert.Null(p.TlsAuthz);
    }

    [Fact]
    public void TlsWithoutCredsIsNoneAndItsOtherNamesNeedCreds()
    {
        var p = new MigrationParameters();
        Assert.Null(p.CreateClientTls());
        Assert.Null(p.CreateServerTls());
        p.TlsHostname = "dest.example";
        Assert.Equal("tls-hostname", Assert.Throws<EngineParameterException>(() => p.CreateClientTls()).Parameter);
        p.TlsAuthz = "CN=client";
        Assert.Equal("tls-authz", Assert.Throws<EngineParameterException>(() => p.CreateServerTls()).Parameter);
    }

    [Fact]
    public void RoleOptionsCopyTheParametersTheyHold()
    {
        // A destination, relay or transcoder takes its own copy: a later change by the caller does not reach it.
        var p = new MigrationParameters { DecompressThreads = 3 };
        var options = new DestinationOptions { Parameters = p };
        DestinationOptions snapshot = DestinationOptions.Snapshot(options);
        p.DecompressThreads = 5;
        Assert.Equal(3, snapshot.Parameters.DecompressThreads);
        Assert.NotSame(p, snapshot.Parameters);

        // The relay's workers: compress-threads when it compresses, decompress-threads when it writes plain pages; its
        // bandwidth is unlimited unless set.
        var relay = new RelayOptions { Parameters = new MigrationParameters { CompressThreads = 6, DecompressThreads = 3 } };
        Assert.Equal(6, relay.Threads);
        relay.Parameters.Compression = CompressionSettings.Create(CompressMethod.None, 0);
        Assert.Equal(3, relay.Threads);
        Assert.Equal(0, new RelayOptions().Parameters.MaxBandwidth);
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
