using Engine.Codecs;

namespace Engine.Wire;

/// <summary>
/// <c>engine extract</c>: turns a migration stream (QEMU's or Engine's) into one raw image per RAM block. For a full QEMU
/// migration file it stops after RAM's END section; the device sections after it are not needed.
/// </summary>
public static class RamExtractor
{
    /// <summary>Extracts the RAM of <paramref name="input"/> into <paramref name="outputDirectory"/>.</summary>
    /// <exception cref="MigrationStreamException">The stream is malformed or a page does not decompress.</exception>
    public static RamExtractResult Extract(Stream input, string outputDirectory, RamExtractOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        options ??= new RamExtractOptions();
        MigrationStreamReaderOptions readerOptions = options.ReaderOptions ?? new MigrationStreamReaderOptions();
        using var reader = new MigrationStreamReader(input, readerOptions, leaveOpen: true);
        using var sink = new RamImageSink(outputDirectory, options.DecompressThreads, options.DecompressorFactory);
        var progressSink = options.Progress is null ? (IRamSink)sink : new ProgressSink(sink, reader, options.Progress);
        RamLoadCounts counts = RamStreamLoader.Load(reader, progressSink);
        sink.Flush();
        if (!counts.RamComplete)
        {
            throw new MigrationStreamException(reader.Position, "expected the RAM section's END, found the end of the stream");
        }

        return new RamExtractResult(sink.Blocks, counts);
    }

    /// <summary>Extracts the RAM of the file at <paramref name="path"/>.</summary>
    public static RamExtractResult Extract(string path, string outputDirectory, RamExtractOptions? options = null)
    {
        using FileStream input = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Extract(input, outputDirectory, options);
    }

    /// <summary>Reports progress (bytes of stream read) at every section end, so a long file shows it is moving.</summary>
    private sealed class ProgressSink(IRamSink inner, MigrationStreamReader reader, IProgress<long> progress) : IRamSink
    {
        public void OnBlockList(IReadOnlyList<RamBlockInfo> blocks) => inner.OnBlockList(blocks);

        public void OnZeroPage(int block, long offset) => inner.OnZeroPage(block, offset);

        public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page) => inner.OnRawPage(block, offset, page);

        public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
            => inner.OnCompressedPage(block, offset, method, payload, streamOffset);

        public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded) => inner.OnXbzrlePage(block, offset, encoded);

        public void OnEndOfSection()
        {
            inner.OnEndOfSection();
            progress.Report(reader.Position);
        }
    }
}
