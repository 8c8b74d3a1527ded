using Engine.Codecs;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>
/// Where <see cref="RamStreamLoader"/> puts the guest RAM it reads: the destination's memory, a set of image files, a
/// test double. Every call has been validated: the block index is one announced by <see cref="OnBlockList"/>, the offset
/// is page aligned with the whole page inside the block, and payload spans are valid only during the call (copy what
/// outlives it).
/// </summary>
internal interface IRamSink
{
    /// <summary>The RAM section's block list: called once, before any page.</summary>
    void OnBlockList(IReadOnlyList<RamBlockInfo> blocks);

    /// <summary>The page at (<paramref name="block"/>, <paramref name="offset"/>) is all zero.</summary>
    void OnZeroPage(int block, long offset);

    /// <summary>The page's 4096 bytes, raw.</summary>
    void OnRawPage(int block, long offset, ReadOnlySpan<byte> page);

    /// <summary>
    /// The page compressed with <paramref name="method"/> (told by the payload's first bytes, within the method's bound).
    /// The sink decompresses it, possibly on worker threads, and must check that it yields exactly one page;
    /// <paramref name="streamOffset"/> is the payload's byte offset, for the error message when it does not.
    /// </summary>
    void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset);

    /// <summary>
    /// An XBZRLE delta (already validated) against the page's current content: apply it with
    /// <see cref="Xbzrle.Decode"/> after every earlier record for that page has been applied.
    /// </summary>
    void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded);

    /// <summary>
    /// The end of a RAM section's payload (EOS). A sink with decompress workers waits for them here, as QEMU's destination
    /// does, so errors surface at the section that caused them.
    /// </summary>
    void OnEndOfSection();
}
