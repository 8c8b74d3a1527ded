using Engine.Codecs;
using Engine.Wire;

namespace Engine.Relay;

/// <summary>How a <see cref="MigrationRelay"/> carries a migration.</summary>
internal sealed record RelayOptions
{
    /// <summary>The method and level the relay writes pages with: zstd for a slow link, <c>none</c> for a plain QEMU destination, zlib for one with compress on.</summary>
    public CompressionSettings Settings { get; init; } = CompressionSettings.Default;

    /// <summary>Workers that decode the incoming pages and encode them again, 1 to 255 (the CLI takes compress-threads when it compresses, else decompress-threads).</summary>
    public int Threads { get; init; } = 8;

    /// <summary><c>max-bandwidth</c> of the outgoing link in bytes/s; 0 = unlimited. The source is read only as fast as this allows.</summary>
    public long MaxBandwidth { get; init; }

    /// <summary>How long one read or write may wait for a peer before the relay gives up (a silent peer).</summary>
    public TimeSpan IoTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How the source is named in errors (e.g. its address), default "the source".</summary>
    public string SourceName { get; init; } = "the source";

    /// <summary>How the destination is named in errors, default "the destination".</summary>
    public string DestinationName { get; init; } = "the destination";

    /// <summary>Receives the number of input bytes read, at every RAM section end.</summary>
    public IProgress<long>? Progress { get; init; }

    /// <summary>Reader limits; the relay sets the stop at RAM's END itself.</summary>
    public MigrationStreamReaderOptions? ReaderOptions { get; init; }
}
