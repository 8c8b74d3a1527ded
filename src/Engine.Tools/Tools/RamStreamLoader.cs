using Engine.Receive;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>Drives a <see cref="MigrationStreamReader"/> into an <see cref="IRamSink"/>: the receive loop (<c>ReceiveLoop</c>) with a sink as its target.</summary>
internal static class RamStreamLoader
{
    /// <summary>
    /// Reads until the reader stops (after RAM's END with the default options) and hands every page to
    /// <paramref name="sink"/>. Returns the counts of what was read.
    /// </summary>
    /// <exception cref="MigrationStreamException">The stream is malformed, truncated or stalled.</exception>
    public static RamLoadCounts Load(MigrationStreamReader reader, IRamSink sink)
    {
        ArgumentNullException.ThrowIfNull(reader);
        ArgumentNullException.ThrowIfNull(sink);
        return Load(reader, sink, null);
    }

    /// <summary>As <see cref="Load(MigrationStreamReader, IRamSink)"/>, telling <paramref name="progress"/> the stream's position at every EOS.</summary>
    internal static RamLoadCounts Load(MigrationStreamReader reader, IRamSink sink, IProgress<long>? progress)
    {
        var loop = new ReceiveLoop(reader, new SinkTarget(sink)) { Progress = progress };
        bool complete = loop.Run();
        return new RamLoadCounts
        {
            ZeroPages = loop.ZeroPages,
            RawPages = loop.RawPages,
            CompressedPages = loop.CompressedPages,
            XbzrlePages = loop.XbzrlePages,
            Sections = loop.Sections,
            RamComplete = complete,
            BytesRead = reader.Position,
        };
    }
}
