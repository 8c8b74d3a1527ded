using Xunit;

namespace Engine.Tests.Migration;

/// <summary>
/// Every command maps its options to <see cref="Engine.Migration.MigrationParameters"/> in one place, so a bad value is
/// refused by the same rule, with the same message naming the parameter, whichever command it is given to.
/// </summary>
public sealed class ParameterCliTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    [Theory] // every wait on the child process has its own timeout
    [InlineData("compress-threads 0 is out of range: accepted 1 to 255", "migrate", "--to", "tcp:127.0.0.1:9", "--compress-threads", "0")]
    [InlineData("compress-threads 0 is out of range: accepted 1 to 255", "relay", "--listen", "tcp:127.0.0.1:0", "--to", "tcp:127.0.0.1:9", "--compress-threads", "0")]
    [InlineData("decompress-threads 256 is out of range: accepted 1 to 255", "relay", "--listen", "tcp:127.0.0.1:0", "--to", "tcp:127.0.0.1:9", "--decompress-threads", "256")]
    [InlineData("decompress-threads 0 is out of range: accepted 1 to 255", "incoming", "--listen", "tcp:127.0.0.1:0", "--decompress-threads", "0")]
    [InlineData("decompress-threads 0 is out of range: accepted 1 to 255", "extract", "/nonexistent.mig", "--out", "/nonexistent-dir", "--decompress-threads", "0")]
    [InlineData("compress-threads 300 is out of range: accepted 1 to 255", "transcode", "/nonexistent-in.mig", "/nonexistent-out.mig", "--compress-threads", "300")]
    [InlineData("multifd-channels 0 is out of range: accepted 1 to 255", "incoming", "--listen", "tcp:127.0.0.1:0", "--multifd-channels", "0")]
    [InlineData("multifd-zstd-level 21 is out of range: accepted 0 to 20", "migrate", "--to", "tcp:127.0.0.1:9", "--multifd-compression", "zstd", "--multifd-zstd-level", "21")]
    [InlineData("multifd-compression 'lz4' is not accepted", "relay", "--listen", "tcp:127.0.0.1:0", "--to", "tcp:127.0.0.1:9", "--multifd-compression", "lz4")]
    [InlineData("tls-hostname 'bad host!' is not a DNS name or an IP address", "migrate", "--to", "tcp:127.0.0.1:9", "--tls-creds", "/nonexistent", "--tls-hostname", "bad host!")]
    public void A_bad_value_is_refused_by_the_same_rule_on_every_command(string message, params string[] args)
    {
        using EngineProcess engine = EngineProcess.Start(args);
        Assert.Equal(2, engine.WaitForExit(ProcessTimeout));
        Assert.Contains(message, engine.StdErr, StringComparison.Ordinal);
    }
}
