using System.Reflection;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Cli;

/// <summary>
/// The engine command writes a block checksum's field name of its own (its results and the <c>.checksums.json</c> sidecar):
/// the library's <see cref="MemoryChecksum.Algorithm"/> is internal and the command is no friend of the library, so the
/// name stands in both; this keeps the two the same.
/// </summary>
public sealed class ChecksumNameTests
{
    [Fact]
    public void TheCommandSpellsTheChecksumAsTheLibraryDoes()
    {
        Type resultJson = Assembly.Load("engine").GetType("Engine.Cli.ResultJson", throwOnError: true)!;
        FieldInfo? field = resultJson.GetField("ChecksumName", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static);
        Assert.NotNull(field);
        Assert.Equal(MemoryChecksum.Algorithm, field.GetRawConstantValue());
    }
}
