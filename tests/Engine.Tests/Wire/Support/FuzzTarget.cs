using Engine.Tools;
using Engine.Wire;

namespace Engine.Tests.Wire.Support;

/// <summary>
/// What the fuzzers run on one input: the reader into an in-memory sink (so decompression and XBZRLE run too), with RAM
/// capped so the sink's allocation stays small. Any exception but <see cref="MigrationStreamException"/> is a finding.
/// </summary>
internal static class FuzzTarget
{
    public static readonly MigrationStreamReaderOptions Options = new()
    {
        StopAfterRamEnd = false,
        MaxTotalRamBytes = 4 << 20,
        MaxVmDescriptionLength = 1 << 20,
    };

    /// <summary>True when the input parses, false when it is rejected; throws anything else.</summary>
    public static bool Run(byte[] input)
    {
        try
        {
            using var reader = new MigrationStreamReader(new MemoryStream(input, writable: false), Options);
            RamStreamLoader.Load(reader, new MemoryRamSink());
            return true;
        }
        catch (MigrationStreamException)
        {
            return false;
        }
    }
}
