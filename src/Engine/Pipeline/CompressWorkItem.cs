namespace Engine.Pipeline;

/// <summary>
/// One submission for a compress worker, and, on the way back, its completion: which slot holds the batch's pages (their
/// sources, offsets and outputs live in the worker's slot arrays) and how many pages it has.
/// </summary>
internal readonly struct CompressWorkItem(int slot, int count)
{
    /// <summary>The worker's batch slot that holds the pages' sources, outcomes and outputs until the caller releases it.</summary>
    public int Slot { get; } = slot;

    /// <summary>The number of pages, 1 to the engine's batch size.</summary>
    public int Count { get; } = count;
}
