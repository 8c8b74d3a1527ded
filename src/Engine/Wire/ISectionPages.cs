namespace Engine.Wire;

/// <summary>
/// Pages that arrive beside the stream a <see cref="Transcoder"/> reads (a multifd source's channels), to be written into
/// the one output stream within the RAM section they belong to, before its EOS.
/// </summary>
/// <remarks>
/// Within a section each page is sent once, so where its record goes among the section's records does not matter; the
/// sections' order (the multifd SYNC barrier at every EOS) is what keeps a page sent again later in the right order.
/// </remarks>
internal interface ISectionPages
{
    /// <summary>The RAM block list was read: the blocks the pages will name, in the stream's order.</summary>
    void Start(IReadOnlyList<RamBlockInfo> blocks);

    /// <summary>At the EOS at <paramref name="eosOffset"/>: waits until every page of the section is in; returns how many.</summary>
    int WaitForSection(long eosOffset);

    /// <summary>The <paramref name="index"/>th page of the section (0 to the count <see cref="WaitForSection"/> returned).</summary>
    ReadOnlySpan<byte> Page(int index, out int block, out long offset);

    /// <summary>The section's pages are written: lets the next section's pages come.</summary>
    void EndSection();
}
