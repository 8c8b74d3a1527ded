using Engine.Codecs;
using Engine.Migration;
using Engine.Wire;

namespace Engine.Relay;

/// <summary>How a <see cref="MigrationRelay"/> carries a migration: QEMU's parameters of the outgoing side and the relay's own.</summary>
public sealed record RelayOptions
{
    /// <summary>
    /// The outgoing side's parameters: <c>compress-method</c>/<c>compress-level</c> the relay writes pages with (zstd for a
    /// slow link, <c>none</c> for a plain QEMU destination, zlib for one with compress on), <c>compress-threads</c> (the
    /// workers when it compresses) or <c>decompress-threads</c> (when it writes <c>none</c>), and <c>max-bandwidth</c> of
    /// the outgoing link (the source is read only as fast as this allows). Unlike QEMU's, the relay's default
    /// <c>max-bandwidth</c> is 0, unlimited. The relay copies them when it is created.
    /// </summary>
    public MigrationParameters Parameters { get; init; } = new() { MaxBandwidth = 0 };

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
    /// packets on <see cref="Parameters"/>' <c>multifd-channels</c> channels with its <c>multifd-compression</c> and level,
    /// each opened with <see cref="ConnectOutputChannel"/>; false (default) writes one stream.
    /// </summary>
    public bool OutputMultifd { get; init; }

    /// <summary>The UUID the outgoing multifd channels carry (the destination QEMU's <c>-uuid</c>); all zero by default.</summary>
    public Guid OutputUuid { get; init; }

    /// <summary>Opens the destination's multifd channel N (called in order, after the main connection's header); needed with <see cref="OutputMultifd"/>.</summary>
    public Func<int, CancellationToken, Stream>? ConnectOutputChannel { get; init; }

    /// <summary>
    /// The destination's machine type (<c>--machine-type</c>), which chooses the multifd framing written to it (per section up
    /// to 8.0, per round with MULTIFD_FLUSH records from 8.1); null: the type the stream's configuration names, else the
    /// source's own framing.
    /// </summary>
    public string? MachineType { get; init; }

    /// <summary>Reader limits; the relay sets the stop at RAM's END itself.</summary>
    internal MigrationStreamReaderOptions? ReaderOptions { get; init; }

    /// <summary>The method and level the relay writes pages with (<see cref="Parameters"/>' compression).</summary>
    internal CompressionSettings Settings => Parameters.Compression;

    /// <summary>
    /// The workers that decode the incoming pages and encode them again: <c>compress-threads</c> when the relay compresses
    /// (encoding is the heavy part), <c>decompress-threads</c> when it writes plain pages (decoding is).
    /// </summary>
    internal int Threads => Parameters.Compression.Method == CompressMethod.None ? Parameters.DecompressThreads : Parameters.CompressThreads;

    /// <summary>A copy whose <see cref="Parameters"/> are a copy too, so a caller's later changes do not reach a relay.</summary>
    internal static RelayOptions Snapshot(RelayOptions? options)
    {
        options ??= new RelayOptions();
        ArgumentNullException.ThrowIfNull(options.Parameters, nameof(options) + "." + nameof(Parameters));
        return options with { Parameters = options.Parameters.Clone() };
    }
}
