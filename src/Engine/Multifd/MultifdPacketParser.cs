using Engine.Codecs;
using Engine.Memory;

namespace Engine.Multifd;

/// <summary>
/// Checks a whole packet header against the destination's guest memory before anything is read into it: the fields
/// (<see cref="MultifdPacketHeader.TryParse"/>), then for a packet with pages the block name (a known block) and every
/// offset, of normal and zero pages alike (page aligned, inside the block; in any order, as QEMU 9.0+ moves the zero pages
/// to the end of the list). Allocation-free unless it fails.
/// </summary>
internal static class MultifdPacketParser
{
    /// <summary>
    /// Parses <paramref name="header"/> (1,344 bytes) for a channel configured with <paramref name="method"/>, resolving
    /// its block among <paramref name="blockNames"/> (UTF-8) with sizes <paramref name="blockSizes"/> and its offsets into
    /// <paramref name="offsets"/> (128 slots: the normal pages', then the zero pages'). Returns false with the error and its
    /// byte offset within the header.
    /// </summary>
    public static bool TryParse(
        ReadOnlySpan<byte> header,
        CompressMethod method,
        IReadOnlyList<byte[]> blockNames,
        ReadOnlySpan<long> blockSizes,
        Span<long> offsets,
        out MultifdPacketHeader packet,
        out int blockIndex,
        out string? error,
        out int errorOffset)
    {
        blockIndex = -1;
        if (!MultifdPacketHeader.TryParse(header, method, out packet, out error, out errorOffset))
        {
            return false;
        }

        if (packet.TotalPages == 0)
        {
            return true;
        }

        ReadOnlySpan<byte> name = MultifdPacketHeader.BlockName(header);
        for (int i = 0; i < blockNames.Count; i++)
        {
            if (name.SequenceEqual(blockNames[i]))
            {
                blockIndex = i;
                break;
            }
        }

        if (blockIndex < 0)
        {
            errorOffset = MultifdFormat.BlockNameOffset;
            error = $"unknown RAM block '{System.Text.Encoding.UTF8.GetString(name)}'";
            return false;
        }

        long size = blockSizes[blockIndex];
        for (int i = 0; i < packet.TotalPages; i++)
        {
            ulong offset = MultifdPacketHeader.Offset(header, i);
            if (offset > (ulong)(size - PageSizes.PageSize) || (offset & (PageSizes.PageSize - 1)) != 0)
            {
                errorOffset = MultifdFormat.HeaderFieldsLength + (i * sizeof(ulong));
                string kind = i < packet.NormalPages ? "page offset" : $"zero page offset (zero page {i - packet.NormalPages} of {packet.ZeroPages})";
                error = $"{kind} 0x{offset:X} (slot {i}) is outside RAM block '{System.Text.Encoding.UTF8.GetString(name)}' ({size} bytes) or not page aligned";
                return false;
            }

            offsets[i] = (long)offset;
        }

        return true;
    }
}
