using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Wire;

namespace Engine.Receive;

/// <summary>
/// Pages into guest memory through a <see cref="DecompressionEngine"/>: the target of <c>incoming</c>, single stream and the
/// multifd main channel alike (the multifd channels write the same memory themselves, released only after
/// <see cref="Settle"/>). XBZRLE deltas are applied on the calling thread once the workers are done with the page.
/// </summary>
internal sealed class GuestMemoryTarget : IPageTarget
{
    private readonly DecompressionEngine _engine;
    private readonly Func<MigrationStreamReader, GuestMemory> _allocate;
    private readonly Action<MigrationStreamReader> _observe;
    private RamBlock[] _blocks = [];

    /// <summary>
    /// A target writing through <paramref name="engine"/>; <paramref name="allocate"/> makes the guest memory from the block
    /// list the reader is on, <paramref name="observe"/> sees every other stream item (what a destination keeps of them).
    /// </summary>
    public GuestMemoryTarget(DecompressionEngine engine, Func<MigrationStreamReader, GuestMemory> allocate, Action<MigrationStreamReader> observe)
    {
        _engine = engine;
        _allocate = allocate;
        _observe = observe;
    }

    /// <inheritdoc />
    public bool TakesChannelPages => false;

    /// <inheritdoc />
    public void OnStreamItem(MigrationStreamReader reader) => _observe(reader);

    /// <inheritdoc />
    public void OnBlockList(MigrationStreamReader reader)
    {
        _blocks = _allocate(reader).Blocks.ToArray();
    }

    /// <inheritdoc />
    public void OnZeroPage(int block, long offset)
    {
        // A page never written (or made zero since) is zero already: not read, not queued. The bit is taken here, on the
        // submitting thread, so it says what the page holds once the queued work is done (a raw page queued before this
        // one set it; the worker applies both in order).
        RamBlock target = _blocks[block];
        if (target.Written is not WrittenPages written || written.TryClear(offset >> PageSizes.PageShift))
        {
            _engine.SubmitZero(target, offset);
        }
    }

    /// <inheritdoc />
    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page)
    {
        RamBlock target = _blocks[block];
        target.MarkWritten(offset);
        _engine.SubmitRaw(target, offset, page);
    }

    /// <inheritdoc />
    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
    {
        RamBlock target = _blocks[block];
        target.MarkWritten(offset);
        _engine.SubmitCompressed(target, offset, payload, streamOffset);
    }

    /// <inheritdoc />
    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded, long streamOffset)
    {
        _engine.WaitForDone();
        _blocks[block].MarkWritten(offset);
        if (!Xbzrle.Decode(encoded, _blocks[block].GetPage(offset)))
        {
            throw new MigrationStreamException(streamOffset, "an XBZRLE delta did not apply to its page");
        }
    }

    /// <inheritdoc />
    public void Settle() => _engine.WaitForDone();

    /// <inheritdoc />
    public void OnChannelPages(IChannelPages channels, long streamOffset)
    {
        // The channels wrote the memory themselves.
    }

    /// <inheritdoc />
    public void OnMultifdFlush(long streamOffset)
    {
        // A barrier only (the loop ran it); nothing to apply.
    }

    /// <inheritdoc />
    public void OnEndOfSection(long streamOffset)
    {
        // Settled by the loop.
    }
}
