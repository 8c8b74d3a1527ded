using Engine.Codecs;
using Engine.Migration;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>Options of <see cref="RamExtractor"/>: QEMU's parameters it reads and the extractor's own.</summary>
public sealed record RamExtractOptions
{
    /// <summary>The parameters; the extractor reads <c>decompress-threads</c>, its workers (default 2).</summary>
    public MigrationParameters Parameters { get; init; } = new();

    /// <summary>Creates one decompressor per worker and method; default <see cref="PageCodecs.CreateDecompressor"/>.</summary>
    public Func<CompressMethod, IPageDecompressor>? DecompressorFactory { get; init; }

    /// <summary>Workers reading a mapped-ram file's pages at once, 1 to 255; default <see cref="MappedRamReader.DefaultThreads"/>.</summary>
    public int MappedRamThreads { get; init; } = MappedRamReader.DefaultThreads;

    /// <summary>Reader limits (timeouts, caps, strict method); default <see cref="MigrationStreamReaderOptions"/>.</summary>
    internal MigrationStreamReaderOptions? ReaderOptions { get; init; }

    /// <summary>Receives the number of stream bytes read, at every RAM section end.</summary>
    public IProgress<long>? Progress { get; init; }

    /// <summary>The decompress workers (<see cref="Parameters"/>' <c>decompress-threads</c>).</summary>
    internal int DecompressThreads => Parameters.DecompressThreads;
}
