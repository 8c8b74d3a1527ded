using Engine.Codecs;
using Engine.Receive;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>The re-encoder as the receive loop's target: pages into the batch, every other item re-framed or copied.</summary>
internal sealed partial class Transcoder
{
    /// <summary>
    /// One transcode's target: pages (the stream's and, at each barrier, a multifd source's channels') go into the batch,
    /// decoded and re-encoded a batch at a time; everything else goes to the writer byte for byte or re-framed.
    /// </summary>
    private sealed class ReencodeTarget(Transcoder transcoder, MigrationStreamWriter writer, TranscodeResult result, Action<IReadOnlyList<RamBlockInfo>>? onBlockList) : IPageTarget
    {
        private readonly PageBatch _batch = transcoder._batch;

        public bool TakesChannelPages => true;

        public void OnStreamItem(MigrationStreamReader reader)
        {
            switch (reader.Kind)
            {
                case MigrationItemKind.FileHeader:
                case MigrationItemKind.Configuration:
                    writer.WriteRaw(reader.RawItem);
                    break;
                case MigrationItemKind.Command:
                    if (transcoder._options.Live)
                    {
                        QemuStreamFeatures.ThrowIfUnsupportedCommand(reader.CommandId, reader.ItemOffset);
                    }

                    writer.WriteRaw(reader.RawItem);
                    break;
                case MigrationItemKind.SectionHeader:
                    if (reader.SectionType == SectionType.Start)
                    {
                        writer.WriteSectionStart(reader.SectionId, reader.SectionName!, reader.SectionInstanceId, reader.SectionVersionId);
                    }
                    else
                    {
                        writer.WriteSectionHeader(reader.SectionType, reader.SectionId);
                    }

                    break;
                case MigrationItemKind.SectionFooter:
                    writer.WriteSectionFooter(reader.SectionId);
                    if (transcoder._options.Live)
                    {
                        writer.Flush();
                    }

                    break;
                default:
                    throw new InvalidOperationException($"unexpected item {reader.Kind} before RAM's END");
            }
        }

        public void OnBlockList(MigrationStreamReader reader)
        {
            writer.WriteRawRamBlockList(reader.RawItem, reader.Blocks);
            onBlockList?.Invoke(reader.Blocks);
        }

        public void OnZeroPage(int block, long offset) => Add(MigrationItemKind.ZeroPage, block, offset, [], CompressMethod.None, -1);

        public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page) => Add(MigrationItemKind.RawPage, block, offset, page, CompressMethod.None, -1);

        public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
            => Add(MigrationItemKind.CompressedPage, block, offset, payload, method, streamOffset);

        public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded, long streamOffset)
        {
            // Passed through: re-encoding is lossless, so the page it applies to is the same at the destination.
            transcoder.FlushBatch(writer, result);
            writer.WriteXbzrlePage(block, offset, encoded);
            result.XbzrlePages++;
        }

        public void Settle()
        {
            // Batches are written in order when they are flushed: nothing runs behind the loop's back.
        }

        public void OnChannelPages(IChannelPages channels, long streamOffset)
        {
            // Within a round each page is sent once, so where its record goes among the round's records does not matter;
            // the barrier's order is what keeps a page sent again later behind this copy.
            int count = channels.PageCount;
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> page = channels.Page(i, out int block, out long offset);
                Add(MigrationItemKind.RawPage, block, offset, page, CompressMethod.None, streamOffset);
            }
        }

        public void OnMultifdFlush(long streamOffset)
        {
            transcoder.FlushBatch(writer, result);
            writer.WriteMultifdFlush();
        }

        public void OnEndOfSection(long streamOffset)
        {
            transcoder.FlushBatch(writer, result);
            writer.WriteEndOfSection();
        }

        private void Add(MigrationItemKind kind, int block, long offset, ReadOnlySpan<byte> payload, CompressMethod method, long streamOffset)
        {
            _batch.Add(kind, block, offset, payload, method, streamOffset);
            if (_batch.IsFull)
            {
                transcoder.FlushBatch(writer, result);
            }
        }
    }
}
