using Engine.Memory;

namespace Engine.Migration;

/// <summary>What a destination received: the guest's memory (the caller owns and disposes it) and its checksums.</summary>
public sealed record DestinationResult
{
    /// <summary>The received guest memory.</summary>
    public required GuestMemory Memory { get; init; }

    /// <summary>Each block's checksum once every page was in.</summary>
    public required IReadOnlyList<BlockChecksum> Checksums { get; init; }

    /// <summary>Stream bytes read.</summary>
    public long StreamBytes { get; init; }

    /// <summary>Zero, raw and compressed page records applied.</summary>
    public long ZeroPages { get; init; }

    /// <summary>Raw page records applied.</summary>
    public long RawPages { get; init; }

    /// <summary>Compressed page records applied.</summary>
    public long CompressedPages { get; init; }

    /// <summary>From the first byte to the last page applied.</summary>
    public TimeSpan Elapsed { get; init; }
}
