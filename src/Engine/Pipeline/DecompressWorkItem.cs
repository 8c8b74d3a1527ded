namespace Engine.Pipeline;

/// <summary>One page for a decompress worker; a payload, if any, is in the worker's slot of the item's ring position.</summary>
internal readonly unsafe struct DecompressWorkItem(byte* destination, PageResultKind kind, int length)
{
    /// <summary>The destination guest page (4096 bytes).</summary>
    public byte* Destination { get; } = destination;

    /// <summary>Zero, compressed or raw.</summary>
    public PageResultKind Kind { get; } = kind;

    /// <summary>The payload's length in the slot (0 for a zero page).</summary>
    public int Length { get; } = length;
}
