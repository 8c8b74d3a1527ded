using Engine.Memory;

namespace Engine.Multifd;

/// <summary>
/// Up to 128 pages of one RAM block handed from the migration thread to a send channel, and what the channel found: the
/// pages that were zero (they go on the main channel as ZERO records) and the bytes its packet took on the wire.
/// </summary>
/// <remarks>
/// Design: a batch belongs to the migration thread while <see cref="State"/> is <see cref="Free"/> or <see cref="Done"/>,
/// and to its channel's thread while it is <see cref="Submitted"/>. Each side writes the fields it owns, then publishes the
/// hand-over with a release write of <see cref="State"/>; the other side reads <see cref="State"/> with an acquire read before
/// it touches any field. Batches are allocated once per channel and reused: nothing is allocated per page.
/// </remarks>
internal sealed class MultifdBatch
{
    public const int Free = 0;
    public const int Submitted = 1;
    public const int Done = 2;

    /// <summary>Free, Submitted or Done; read and written with Volatile (see the remarks).</summary>
    public int State;

    // Written by the migration thread before Submitted.
    public RamBlock? Block;
    public int BlockIndex;
    public byte[] BlockName = [];
    public int Count;
    public bool Sync;
    public readonly long[] Offsets = new long[MultifdFormat.PagesPerPacket];

    // The pages' own bytes, page i at i * 4096, when the batch carries copies (a relay's, MultifdOutputTarget) rather than
    // offsets into Block; allocated once by the producer and kept across Reset. Null for a source's batches.
    public byte[]? Pages;

    // Written by the channel thread before Done.
    public int ZeroCount;
    public readonly long[] ZeroOffsets = new long[MultifdFormat.PagesPerPacket];
    public int NormalPages;
    public int PayloadBytes;
    public long WireBytes;

    /// <summary>Back to an empty batch for the migration thread to fill.</summary>
    public void Reset()
    {
        Block = null;
        Count = 0;
        Sync = false;
        ZeroCount = 0;
        NormalPages = 0;
        PayloadBytes = 0;
        WireBytes = 0;
    }
}
