namespace Engine.Receive;

/// <summary>
/// A second page source beside the stream <see cref="ReceiveLoop"/> reads: a multifd source's channels. The loop calls it at
/// every barrier (QEMU's <c>multifd_recv_sync_main</c>) and at RAM's end; between barriers the channels run on their own
/// threads.
/// </summary>
internal interface IChannelPages
{
    /// <summary>True when the channels' packets carry compressed pages (the migration's multifd-compression is not none).</summary>
    bool Compressed { get; }

    /// <summary>Pages the channels received so far (read while they run: a count that only grows).</summary>
    long Pages { get; }

    /// <summary>Zero pages carried inside the channels' packets so far (QEMU 9.0+'s <c>zero_pages</c>; a count that only grows).</summary>
    long ZeroPages { get; }

    /// <summary>Bytes read on every channel so far, hellos included.</summary>
    long BytesRead { get; }

    /// <summary>
    /// Waits until every channel has read one SYNC packet (each then waits to be released), or throws the failure of a
    /// channel, a timeout naming the channel, or <see cref="OperationCanceledException"/>. <paramref name="streamOffset"/>
    /// is the main stream's barrier record, for the timeout's message.
    /// </summary>
    void WaitForBarrier(long streamOffset);

    /// <summary>Lets every channel go on past its SYNC.</summary>
    void Release();

    /// <summary>
    /// At RAM's end in per-round mode: lets every channel read on to the end of its connection (a channel waiting at a SYNC
    /// that no barrier will match, as QEMU 9.1 and 9.2 send at complete, is released) and waits, at most the read timeout,
    /// until each has ended; throws a channel's failure or a timeout naming it. Idempotent.
    /// </summary>
    void Drain(long streamOffset);

    /// <summary>With tracking on: the pages received since the last barrier (valid while every channel is held or ended).</summary>
    int PageCount { get; }

    /// <summary>The <paramref name="index"/>th of those pages (0 to <see cref="PageCount"/>), its block and offset.</summary>
    ReadOnlySpan<byte> Page(int index, out int block, out long offset);

    /// <summary>Forgets the pages counted by <see cref="PageCount"/>: call before <see cref="Release"/>.</summary>
    void ClearPages();
}
