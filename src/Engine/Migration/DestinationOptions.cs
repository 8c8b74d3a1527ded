using Engine.Codecs;

namespace Engine.Migration;

/// <summary>How a <see cref="DestinationMigration"/> loads a stream.</summary>
public sealed record DestinationOptions
{
    /// <summary><c>decompress-threads</c>: 1 to 255, default 2.</summary>
    public int DecompressThreads { get; init; } = 2;

    /// <summary>The destination's <c>compress-method</c>; payloads of either method are told apart by their first bytes.</summary>
    public CompressMethod Method { get; init; } = CompressMethod.Zlib;

    /// <summary>Reject a compressed page of another method than <see cref="Method"/>.</summary>
    public bool Strict { get; init; }

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
}
