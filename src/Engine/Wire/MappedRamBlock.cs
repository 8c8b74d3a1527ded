using Engine.Memory;

namespace Engine.Wire;

/// <summary>
/// Where one RAM block's pages are in a QEMU mapped-ram file, as its block list entry's MappedRamHeader says, checked by
/// <see cref="MigrationStreamReader"/>: the bitmap follows the header, the pages region is page aligned, lies after the
/// bitmap and inside the file, and the stream goes on right after it.
/// </summary>
/// <param name="Name">The block's id string.</param>
/// <param name="Length">The block's used length in bytes, a multiple of 4096.</param>
/// <param name="HeaderOffset">The stream offset of the MappedRamHeader (its be32 version).</param>
/// <param name="Version">The header's version (0 or 1; QEMU accepts at most 1).</param>
/// <param name="BitmapOffset">The file offset of the bitmap, as written (absolute in the file).</param>
/// <param name="BitmapSize">The bitmap's size in bytes: one bit per page, rounded up to whole 64-bit words.</param>
/// <param name="PagesOffset">The file offset of page 0; page i is at <c>PagesOffset + i * 4096</c>.</param>
/// <param name="Bitmap">The bitmap as little-endian 64-bit words: bit i of word w stands for page <c>64 * w + i</c>; a set bit means the page is in the file, a clear one a zero page. Bits past the block's last page are clear.</param>
/// <param name="PagesPresent">The number of set bits: pages whose data is in the file.</param>
internal sealed record MappedRamBlock(
    string Name,
    long Length,
    long HeaderOffset,
    uint Version,
    long BitmapOffset,
    long BitmapSize,
    long PagesOffset,
    ulong[] Bitmap,
    long PagesPresent)
{
    /// <summary>The number of pages in the block.</summary>
    public long PageCount => Length / PageSizes.PageSize;

    /// <summary>True when page <paramref name="page"/>'s bitmap bit is set.</summary>
    public bool IsPresent(long page) => (ulong)page < (ulong)PageCount && (PageBits.Word(Bitmap, page) & PageBits.Bit(page)) != 0;
}
