namespace Engine.Wire;

/// <summary>Drives a <see cref="MigrationStreamReader"/> into an <see cref="IRamSink"/>: the destination side's load loop.</summary>
public static class RamStreamLoader
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
        var counts = new RamLoadCounts();
        while (reader.Read())
        {
            switch (reader.Kind)
            {
                case MigrationItemKind.RamBlockList:
                    sink.OnBlockList(reader.Blocks);
                    break;
                case MigrationItemKind.ZeroPage:
                    counts.ZeroPages++;
                    sink.OnZeroPage(reader.BlockIndex, reader.PageOffset);
                    break;
                case MigrationItemKind.RawPage:
                    counts.RawPages++;
                    sink.OnRawPage(reader.BlockIndex, reader.PageOffset, reader.Payload);
                    break;
                case MigrationItemKind.CompressedPage:
                    counts.CompressedPages++;
                    sink.OnCompressedPage(reader.BlockIndex, reader.PageOffset, reader.PayloadMethod, reader.Payload, reader.PayloadOffset);
                    break;
                case MigrationItemKind.XbzrlePage:
                    counts.XbzrlePages++;
                    sink.OnXbzrlePage(reader.BlockIndex, reader.PageOffset, reader.Payload);
                    break;
                case MigrationItemKind.EndOfSection:
                    counts.Sections++;
                    sink.OnEndOfSection();
                    break;
            }
        }

        counts.RamComplete = reader.IsRamComplete;
        counts.BytesRead = reader.Position;
        return counts;
    }
}
