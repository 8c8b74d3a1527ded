namespace Engine.Tools;

/// <summary>What <see cref="RamExtractor"/> wrote.</summary>
/// <param name="Blocks">The block images.</param>
/// <param name="Counts">The records read.</param>
public sealed record RamExtractResult(IReadOnlyList<ExtractedBlock> Blocks, RamLoadCounts Counts);
