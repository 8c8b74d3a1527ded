using Engine.Codecs;
using Engine.Pipeline;

namespace Engine.Migration;

/// <summary>
/// How a <see cref="DestinationMigration"/> or a <see cref="MultifdDestination"/> loads a stream: QEMU's parameters
/// (<see cref="Parameters"/>) and what a destination needs beyond them.
/// </summary>
public sealed record DestinationOptions
{
    /// <summary>
    /// The destination's parameters; it reads <c>decompress-threads</c>, <c>compress-method</c> (payloads of either method
    /// are told apart by their first bytes unless <see cref="Strict"/>), and with multifd <c>multifd-channels</c> and
    /// <c>multifd-compression</c>. A destination copies them when it is created.
    /// </summary>
    public MigrationParameters Parameters { get; init; } = new();

    /// <summary>Reject a compressed page of another method than <see cref="Parameters"/>' <c>compress-method</c>.</summary>
    public bool Strict { get; init; }

    /// <summary>The UUID a multifd source's channels must carry (QEMU's <c>-uuid</c>); all zero by default, as QEMU without <c>-uuid</c>.</summary>
    public Guid Uuid { get; init; }

    /// <summary>How long one read may wait for the source before the destination gives up (a silent peer).</summary>
    public TimeSpan ReadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The most guest RAM a stream may announce (what the destination will allocate).</summary>
    public long MaxRamBytes { get; init; } = 64L << 30;

    /// <summary>
    /// Over a connection: the fewest bytes the source must send per <see cref="ReadTimeout"/>, else it is dropped as a
    /// trickling peer (<see cref="Transport.ProgressGuardStream"/>); 4 KiB, one page. 0: no such check.
    /// </summary>
    public long MinimumProgressBytes { get; init; } = 4096;

    /// <summary>The most bytes kept after RAM's END (a QEMU source's device state, EOF and VM description): 256 MiB.</summary>
    public long MaxDeviceStateBytes { get; init; } = 256L << 20;

    /// <summary>The method a strict destination accepts, else null (any, told by the payload).</summary>
    internal CompressMethod? ExpectedMethod => Strict ? Parameters.Compression.Method : null;

    /// <summary>The decompression engine of a destination with these options (<c>decompress-threads</c>, the method, strict).</summary>
    internal DecompressionEngineOptions EngineOptions() => new()
    {
        DecompressThreads = Parameters.DecompressThreads,
        Method = Parameters.Compression.Method == CompressMethod.None ? CompressMethod.Zlib : Parameters.Compression.Method,
        Strict = Strict,
    };

    /// <summary>A copy whose <see cref="Parameters"/> are a copy too, so a caller's later changes do not reach a destination.</summary>
    internal static DestinationOptions Snapshot(DestinationOptions? options)
    {
        options ??= new DestinationOptions();
        ArgumentNullException.ThrowIfNull(options.Parameters, nameof(options) + "." + nameof(Parameters));
        return options with { Parameters = options.Parameters.Clone() };
    }
}
