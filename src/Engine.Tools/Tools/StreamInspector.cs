using Engine.Codecs;
using Engine.Wire;

namespace Engine.Tools;

/// <summary><c>engine inspect</c>: reads a whole migration stream, validating it, and summarises what it holds.</summary>
public static class StreamInspector
{
    /// <summary>Inspects <paramref name="input"/> to its end.</summary>
    /// <param name="input">The stream, read from its current position.</param>
    /// <param name="progress">Receives the number of bytes read, at every RAM section end.</param>
    /// <remarks>The reader's default limits; <see cref="MigrationStreamReaderOptions.StopAfterRamEnd"/> is always on, the rest is counted.</remarks>
    /// <exception cref="MigrationStreamException">The stream is malformed; the message says what and where.</exception>
    public static StreamSummary Inspect(Stream input, IProgress<long>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        var readerOptions = new MigrationStreamReaderOptions { StopAfterRamEnd = true, AcceptMappedRam = true };

        var summary = new StreamSummary();
        using var reader = new MigrationStreamReader(input, readerOptions, leaveOpen: true);
        while (reader.Read())
        {
            int length = (int)(reader.Position - reader.ItemOffset);
            switch (reader.Kind)
            {
                case MigrationItemKind.FileHeader:
                    summary.FileVersion = reader.FileVersion;
                    break;
                case MigrationItemKind.Configuration:
                    summary.MachineType = reader.MachineType;
                    summary.Capabilities = reader.ConfigurationCapabilities.ToArray();
                    break;
                case MigrationItemKind.Command:
                    summary.Commands++;
                    break;
                case MigrationItemKind.SectionHeader:
                    summary.RamSectionId = reader.SectionId;
                    switch (reader.SectionType)
                    {
                        case SectionType.Start:
                            summary.StartSections++;
                            break;
                        case SectionType.Part:
                            summary.PartSections++;
                            break;
                        default:
                            summary.EndSections++;
                            break;
                    }

                    break;
                case MigrationItemKind.RamBlockList:
                    summary.TotalRamBytes = reader.TotalRamBytes;
                    foreach (RamBlockInfo block in reader.Blocks)
                    {
                        summary.Blocks.Add(new BlockSummary(block.Name, block.Length));
                    }

                    summary.MappedRam = reader.IsMappedRam;
                    for (int i = 0; i < reader.MappedRamBlocks.Count; i++)
                    {
                        MappedRamBlock mapped = reader.MappedRamBlocks[i];
                        BlockSummary block = summary.Blocks[i];
                        block.MappedPages = mapped.PagesPresent;
                        block.BitmapOffset = mapped.BitmapOffset;
                        block.BitmapSize = mapped.BitmapSize;
                        block.PagesOffset = mapped.PagesOffset;
                    }

                    break;
                case MigrationItemKind.ZeroPage:
                    summary.Zero.Add(length);
                    summary.Blocks[reader.BlockIndex].ZeroPages++;
                    break;
                case MigrationItemKind.RawPage:
                    summary.Raw.Add(length);
                    summary.Blocks[reader.BlockIndex].RawPages++;
                    break;
                case MigrationItemKind.CompressedPage:
                    summary.Blocks[reader.BlockIndex].CompressedPages++;
                    summary.CompressedPayloadBytes += reader.Payload.Length;
                    if (reader.PayloadMethod == CompressMethod.Zlib)
                    {
                        summary.Zlib.Add(length);
                        summary.ZlibLevelClasses[reader.Payload[1] >> 6]++;
                    }
                    else
                    {
                        summary.Zstd.Add(length);
                    }

                    break;
                case MigrationItemKind.XbzrlePage:
                    summary.Xbzrle.Add(length);
                    summary.Blocks[reader.BlockIndex].XbzrlePages++;
                    break;
                case MigrationItemKind.EndOfSection:
                    summary.EndOfSection.Add(length);
                    progress?.Report(reader.Position);
                    break;
                case MigrationItemKind.MultifdFlush:
                    summary.MultifdFlush.Add(length);
                    break;
            }
        }

        summary.RamComplete = reader.IsRamComplete;
        summary.RamEndOffset = reader.Position;
        summary.BytesAfterRam = reader.SkipRemainder();
        summary.TotalBytes = reader.Position;
        return summary;
    }

    /// <summary>Inspects the file at <paramref name="path"/>.</summary>
    public static StreamSummary Inspect(string path, IProgress<long>? progress = null)
    {
        using FileStream input = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Inspect(input, progress);
    }
}
