using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire.Support;

internal static class StreamAssert
{
    /// <summary>Reads <paramref name="stream"/> to its end and asserts it fails at <paramref name="offset"/> with a message containing each fragment.</summary>
    public static MigrationStreamException Fails(byte[] stream, long offset, params string[] fragments)
        => FailsWith(stream, new MigrationStreamReaderOptions { StopAfterRamEnd = false }, offset, fragments);

    public static MigrationStreamException FailsWith(byte[] stream, MigrationStreamReaderOptions options, long offset, params string[] fragments)
    {
        using var reader = new MigrationStreamReader(new MemoryStream(stream), options);
        var error = Assert.Throws<MigrationStreamException>(() =>
        {
            while (reader.Read())
            {
            }
        });
        Assert.True(offset == error.Offset, $"expected the error at byte {offset}, got {error.Offset}: {error.Message}");
        foreach (string fragment in fragments)
        {
            Assert.Contains(fragment, error.Message, StringComparison.Ordinal);
        }

        Assert.Throws<InvalidOperationException>(() => reader.Read());
        return error;
    }

    /// <summary>Reads a whole stream, returning the item kinds.</summary>
    public static List<MigrationItemKind> ReadAll(byte[] stream, bool stopAfterRamEnd = false)
    {
        using var reader = new MigrationStreamReader(new MemoryStream(stream), new MigrationStreamReaderOptions { StopAfterRamEnd = stopAfterRamEnd });
        var kinds = new List<MigrationItemKind>();
        while (reader.Read())
        {
            kinds.Add(reader.Kind);
        }

        return kinds;
    }
}
