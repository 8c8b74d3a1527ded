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

    /// <summary>XBZRLE records applied.</summary>
    public long XbzrlePages { get; init; }

    /// <summary>From the first byte to the last page applied.</summary>
    public TimeSpan Elapsed { get; init; }

    /// <summary>The stream's bytes before RAM's START, verbatim: file header, configuration, commands.</summary>
    public byte[] StreamPrefix { get; init; } = [];

    /// <summary>The RAM section's id in the received stream.</summary>
    public uint RamSectionId { get; init; }

    /// <summary>The RAM block list record (MEM_SIZE, names, lengths) verbatim.</summary>
    public byte[] RamBlockList { get; init; } = [];

    /// <summary>Everything after RAM's END verbatim: a QEMU source's device sections, EOF and VM description; EOF alone from Engine.</summary>
    public byte[] Tail { get; init; } = [];

    /// <summary>True when the source was QEMU (device state after RAM's END; no reply was sent).</summary>
    public bool FromQemu { get; init; }
}
