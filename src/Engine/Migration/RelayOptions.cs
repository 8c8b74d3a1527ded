using Engine.Codecs;
using Engine.Wire;

namespace Engine.Migration;

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

    /// <summary>
    /// multifd on the destination side (<c>--to-multifd-channels</c>, <c>--to-multifd-compression</c>): the pages go out in
    /// packets on this many channels, each opened with <see cref="ConnectOutputChannel"/>; null (default) writes one stream.
    /// </summary>
    public Engine.Multifd.MultifdParameters? OutputMultifd { get; init; }

    /// <summary>Opens the destination's multifd channel N (called in order, after the main connection's header); needed with <see cref="OutputMultifd"/>.</summary>
    public Func<int, CancellationToken, Stream>? ConnectOutputChannel { get; init; }

    /// <summary>
    /// The destination's machine type (<c>--machine-type</c>), which chooses the multifd framing written to it (per section up
    /// to 8.0, per round with MULTIFD_FLUSH records from 8.1); null: the type the stream's configuration names, else the
    /// source's own framing.
    /// </summary>
    public string? MachineType { get; init; }

    /// <summary>Reader limits; the relay sets the stop at RAM's END itself.</summary>
    public MigrationStreamReaderOptions? ReaderOptions { get; init; }
}
