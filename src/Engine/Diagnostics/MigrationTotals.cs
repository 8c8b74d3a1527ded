namespace Engine.Diagnostics;

/// <summary>The counts of one or more migrations that the metrics add up: page records by kind, bytes, and the source's extras.</summary>
internal readonly record struct MigrationTotals(
    long ZeroPages,
    long NormalPages,
    long CompressedPages,
    long Bytes,
    long CompressionBusy = 0,
    long CompressedSize = 0,
    long DirtySyncs = 0)
{
    /// <summary>The sum of two.</summary>
    public MigrationTotals Plus(in MigrationTotals other) => new(
        ZeroPages + other.ZeroPages,
        NormalPages + other.NormalPages,
        CompressedPages + other.CompressedPages,
        Bytes + other.Bytes,
        CompressionBusy + other.CompressionBusy,
        CompressedSize + other.CompressedSize,
        DirtySyncs + other.DirtySyncs);
}
