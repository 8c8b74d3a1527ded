namespace Engine.Pipeline;

/// <summary>One page for a compress worker: where the guest page is and which output slot to use.</summary>
internal readonly unsafe struct CompressWorkItem(byte* source, int slot)
{
    /// <summary>The live guest page (4096 bytes); the worker copies it before looking at it.</summary>
    public byte* Source { get; } = source;

    /// <summary>The worker's output slot that holds the result until the caller releases it.</summary>
    public int Slot { get; } = slot;
}
