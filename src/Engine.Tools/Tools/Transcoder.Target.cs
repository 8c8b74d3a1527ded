using Engine.Codecs;
using Engine.Receive;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>The re-encoder as the receive loop's target: pages into the encoder, every other item re-framed or copied.</summary>
public sealed partial class Transcoder
{
    /// <summary>
    /// One transcode's target: pages (the stream's and, at each barrier, a multifd source's channels') go into the
    /// encoder, which writes them in this order; everything else goes to the writer byte for byte or re-framed, after the
    /// encoder has written every page before it where the order matters (XBZRLE, EOS, MULTIFD_FLUSH).
    /// </summary>
    private sealed class ReencodeTarget(Transcoder transcoder, StreamPageEncoder encoder, MigrationStreamWriter writer, TranscodeResult result, Action<IReadOnlyList<RamBlockInfo>>? onBlockList) : IPageTarget
    {
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

        public void OnZeroPage(int block, long offset) => encoder.AddZero(block, offset);

        public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page) => encoder.AddPage(block, offset, page);

        public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
            => transcoder.AddCompressedPage(encoder, writer, result, block, offset, method, payload, streamOffset);

        public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded, long streamOffset)
        {
            // Passed through: re-encoding is lossless, so the page it applies to is the same at the destination.
            encoder.Flush();
            writer.WriteXbzrlePage(block, offset, encoded);
            result.XbzrlePages++;
        }

        public void Settle()
        {
            // The encoder writes pages in order, before any record the loop writes after a flush: nothing to wait for.
        }

        public void OnChannelPages(IChannelPages channels, long streamOffset)
        {
            // Within a round each page is sent once, so where its record goes among the round's records does not matter;
            // the barrier's order is what keeps a page sent again later behind this copy.
            int count = channels.PageCount;
            for (int i = 0; i < count; i++)
            {
                ReadOnlySpan<byte> page = channels.Page(i, out int block, out long offset);
                encoder.AddPage(block, offset, page);
            }
        }

        public void OnMultifdFlush(long streamOffset)
        {
            encoder.Flush();
            writer.WriteMultifdFlush();
        }

        public void OnEndOfSection(long streamOffset)
        {
            encoder.Flush();
            writer.WriteEndOfSection();
        }
    }
}
