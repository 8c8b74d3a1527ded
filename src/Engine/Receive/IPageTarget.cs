using Engine.Codecs;
using Engine.Wire;

namespace Engine.Receive;

/// <summary>
/// Where <see cref="ReceiveLoop"/> puts what it reads: guest memory (<see cref="GuestMemoryTarget"/>), image files, or a
/// re-encoder that feeds a <see cref="MigrationStreamWriter"/>. Every call has been validated by the reader: the block index
/// is one of the block list's, the offset page aligned with the whole page inside the block; spans are valid only during
/// the call.
/// </summary>
/// <remarks>
/// Pages come from the stream the loop reads and, with multifd, from the channels (<see cref="IChannelPages"/>): a target
/// whose memory the channels write (a destination) only has to <see cref="Settle"/> before a barrier releases them; a target
/// that must see every page itself (a re-encoder) says so with <see cref="TakesChannelPages"/> and gets them at each
/// barrier in <see cref="OnChannelPages"/>. Pages that are in neither (mapped-ram's pages at fixed file offsets) would be a
/// third source handed over the same way, at RAM's end, before the final <see cref="OnEndOfSection"/>.
/// </remarks>
internal interface IPageTarget
{
    /// <summary>
    /// True when the target must be handed the channels' pages (<see cref="OnChannelPages"/>); false when the channels
    /// write straight into the target's memory.
    /// </summary>
    bool TakesChannelPages { get; }

    /// <summary>
    /// An item a re-encoder copies verbatim or re-frames: the file header, configuration, a command, a section header or
    /// footer (and, on a reader that does not stop at RAM's END, EOF and the VM description). The reader is on it.
    /// </summary>
    void OnStreamItem(MigrationStreamReader reader);

    /// <summary>The RAM block list (the reader is on it): called once, before any page.</summary>
    void OnBlockList(MigrationStreamReader reader);

    /// <summary>The page at (<paramref name="block"/>, <paramref name="offset"/>) is all zero.</summary>
    void OnZeroPage(int block, long offset);

    /// <summary>The page's 4096 bytes, raw.</summary>
    void OnRawPage(int block, long offset, ReadOnlySpan<byte> page);

    /// <summary>
    /// The page compressed with <paramref name="method"/>; <paramref name="streamOffset"/> is the payload's byte offset, for
    /// the error when it does not decompress to exactly one page.
    /// </summary>
    void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset);

    /// <summary>An XBZRLE delta against the page as every earlier record left it; <paramref name="streamOffset"/> is the payload's.</summary>
    void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded, long streamOffset);

    /// <summary>
    /// Every page handed over so far is in place (decompress workers waited for; QEMU's <c>wait_for_decompress_done</c>):
    /// called at every EOS and before multifd channels are released at a barrier, so no channel writes a page that a
    /// worker still has to write.
    /// </summary>
    void Settle();

    /// <summary>
    /// With <see cref="TakesChannelPages"/>: the pages <paramref name="channels"/> received since the last barrier, every
    /// channel held (at its SYNC or ended), so none of them is being written.
    /// </summary>
    void OnChannelPages(IChannelPages channels, long streamOffset);

    /// <summary>A RAM_SAVE_FLAG_MULTIFD_FLUSH record (0x200) at <paramref name="streamOffset"/>, after its barrier.</summary>
    void OnMultifdFlush(long streamOffset);

    /// <summary>The end of a RAM section's payload (EOS) at <paramref name="streamOffset"/>, after its barrier.</summary>
    void OnEndOfSection(long streamOffset);
}
