namespace Engine.Migration;

/// <summary>How a migration ended: the final statistics and the checksum comparison.</summary>
public sealed record MigrationResult
{
    /// <summary>The statistics at the end (<c>info migrate</c>).</summary>
    public required MigrationInfo Info { get; init; }

    /// <summary>Each source block's checksum at the pause.</summary>
    public required IReadOnlyList<BlockChecksum> SourceChecksums { get; init; }

    /// <summary>Each destination block's checksum once it held everything; null when there is no return path (a file).</summary>
    public IReadOnlyList<BlockChecksum>? DestinationChecksums { get; init; }

    /// <summary>True when the destination confirmed equal checksums for every block; null when it could not say (a file).</summary>
    public bool? ChecksumsMatch => DestinationChecksums is null ? null : SourceChecksums.SequenceEqual(DestinationChecksums);

    /// <summary>The stream's size in bytes.</summary>
    public long StreamBytes { get; init; }
}
