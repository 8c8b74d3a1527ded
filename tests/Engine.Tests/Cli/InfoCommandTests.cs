using Xunit;

namespace Engine.Tests.Cli;

public sealed class InfoCommandTests
{
    [Fact]
    public void PrintsTheNativeLibraryVersionsAfterTheSelfCheck()
    {
        EngineCli.Result r = EngineCli.Run(TimeSpan.FromSeconds(30), "info");
        Assert.True(r.ExitCode == 0, r.StdErr);
        Assert.Matches(@"libzstd\s+1\.\d+\.\d+", r.StdOut);
        Assert.Matches(@"zlib\s+1\.\d+", r.StdOut);
    }
}
