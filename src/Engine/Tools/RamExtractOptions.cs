using Engine.Codecs;
using Engine.Tools;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>Options of <see cref="RamExtractor"/>.</summary>
internal sealed class RamExtractOptions
{
    /// <summary>Decompress workers (QEMU's <c>decompress-threads</c>), 1 to 255; default 2.</summary>
    public int DecompressThreads { get; init; } = 2;

    /// <summary>Creates one decompressor per worker and method; default <see cref="PageCodecs.CreateDecompressor"/>.</summary>
    public Func<CompressMethod, IPageDecompressor>? DecompressorFactory { get; init; }

    /// <summary>Workers reading a mapped-ram file's pages at once, 1 to 255; default <see cref="MappedRamReader.DefaultThreads"/>.</summary>
    public int MappedRamThreads { get; init; } = MappedRamReader.DefaultThreads;

    /// <summary>Reader limits (timeouts, caps, strict method); default <see cref="MigrationStreamReaderOptions"/>.</summary>
    public MigrationStreamReaderOptions? ReaderOptions { get; init; }

    /// <summary>Receives the number of stream bytes read, at every RAM section end.</summary>
    public IProgress<long>? Progress { get; init; }
}
