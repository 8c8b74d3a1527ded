using Engine.Codecs;
using Engine.Receive;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>
/// An <see cref="IRamSink"/> (image files, <see cref="RamImageSink"/>; a test's or the fuzzer's in-memory sink) as a
/// <see cref="ReceiveLoop"/> target: what <see cref="RamStreamLoader"/> and <c>extract</c> run on.
/// </summary>
internal sealed class SinkTarget(IRamSink sink) : IPageTarget
{
    /// <inheritdoc />
    public bool TakesChannelPages => false;

    /// <inheritdoc />
    public void OnStreamItem(MigrationStreamReader reader)
    {
        // A sink keeps guest RAM only.
    }

    /// <inheritdoc />
    public void OnBlockList(MigrationStreamReader reader) => sink.OnBlockList(reader.Blocks);

    /// <inheritdoc />
    public void OnZeroPage(int block, long offset) => sink.OnZeroPage(block, offset);

    /// <inheritdoc />
    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page) => sink.OnRawPage(block, offset, page);

    /// <inheritdoc />
    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
        => sink.OnCompressedPage(block, offset, method, payload, streamOffset);

    /// <inheritdoc />
    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded, long streamOffset) => sink.OnXbzrlePage(block, offset, encoded);

    /// <inheritdoc />
    public void Settle()
    {
        // The sink waits for its workers in OnEndOfSection (IRamSink's contract).
    }

    /// <inheritdoc />
    public void OnChannelPages(IChannelPages channels, long streamOffset)
    {
        // Files carry no multifd channels.
    }

    /// <inheritdoc />
    public void OnMultifdFlush(long streamOffset)
    {
        // A barrier only; a file's pages are all in the stream.
    }

    /// <inheritdoc />
    public void OnEndOfSection(long streamOffset) => sink.OnEndOfSection();
}
