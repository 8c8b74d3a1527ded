using Engine.Codecs;
using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// A dirty log of one bit per page per block, marked by any number of threads without a lock (see
/// <see cref="DirtyBitmap"/> for why no write is lost). A host that tracks writes itself marks it; the synthetic guest's
/// writers do.
/// </summary>
public sealed class DirtyPageLog : IDirtyLog
{
    private readonly DirtyBitmap[] _blocks;

    /// <summary>A clean log for <paramref name="memory"/>'s blocks, in their order.</summary>
    public DirtyPageLog(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        _blocks = memory.Blocks.Select(b => new DirtyBitmap(b.PageCount)).ToArray();
    }

    /// <summary>The number of blocks.</summary>
    public int BlockCount => _blocks.Length;

    /// <summary>Block <paramref name="blockIndex"/>'s bitmap (writer role: <see cref="DirtyBitmap.MarkDirty"/> only).</summary>
    public DirtyBitmap Block(int blockIndex) => _blocks[blockIndex];

    /// <summary>Marks the page at byte <paramref name="offset"/> of block <paramref name="blockIndex"/> written; any thread.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The block or the offset is outside the guest.</exception>
    public void MarkDirty(int blockIndex, long offset)
    {
        if ((uint)blockIndex >= (uint)_blocks.Length)
        {
            throw new ArgumentOutOfRangeException(nameof(blockIndex), blockIndex, $"the guest has {_blocks.Length} blocks");
        }

        DirtyBitmap bitmap = _blocks[blockIndex];
        long page = offset >> PageSizes.PageShift;
        if (offset < 0 || page >= bitmap.PageCount)
        {
            throw new ArgumentOutOfRangeException(nameof(offset), offset, $"block {blockIndex} has {bitmap.PageCount} pages");
        }

        bitmap.MarkDirty(page);
    }

    /// <inheritdoc />
    public long SyncInto(int blockIndex, DirtyBitmap pending) => _blocks[blockIndex].SyncInto(pending);
}
