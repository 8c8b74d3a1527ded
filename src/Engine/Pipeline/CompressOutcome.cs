using Engine.Codecs;

namespace Engine.Pipeline;

/// <summary>What a compress worker made of one page; the bytes are in the item's output slot.</summary>
internal readonly struct CompressOutcome(PageResultKind kind, CompressMethod method, int length)
{
    /// <summary>Zero, compressed or raw.</summary>
    public PageResultKind Kind { get; } = kind;

    /// <summary>The method of a compressed payload.</summary>
    public CompressMethod Method { get; } = method;

    /// <summary>The number of payload bytes in the slot (0 for a zero page, 4096 for a raw one).</summary>
    public int Length { get; } = length;
}
