using Engine.Codecs;
using Engine.Memory;

namespace Engine.Synthetic;

/// <summary>
/// One RAM block as the guest's writers see it: a name, native memory and the block's dirty log. The memory is owned by
/// whoever created the region (a RAM block); the region only points at it.
/// </summary>
public sealed unsafe class GuestRegion
{
    /// <summary>Creates a region over <paramref name="length"/> bytes at <paramref name="baseAddress"/>.</summary>
    /// <param name="name">The RAM block's name (<c>pc.ram</c>).</param>
    /// <param name="baseAddress">Start of the block's memory; it must stay valid while the region is in use.</param>
    /// <param name="length">Length in bytes: a whole, non-zero number of pages.</param>
    /// <param name="dirtyLog">The block's dirty log, one bit per page; writers mark it.</param>
    public GuestRegion(string name, byte* baseAddress, long length, DirtyBitmap dirtyLog)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(dirtyLog);
        if (baseAddress == null)
        {
            throw new ArgumentNullException(nameof(baseAddress));
        }

        if (length <= 0 || length % PageSizes.PageSize != 0)
        {
            throw new ArgumentOutOfRangeException(nameof(length), length, "a region is a whole, non-zero number of 4096-byte pages");
        }

        if (dirtyLog.PageCount != length / PageSizes.PageSize)
        {
            throw new ArgumentException($"the dirty log covers {dirtyLog.PageCount} pages, the region {length / PageSizes.PageSize}", nameof(dirtyLog));
        }

        Name = name;
        BaseAddress = baseAddress;
        Length = length;
        DirtyLog = dirtyLog;
    }

    /// <summary>A region over <paramref name="block"/>'s memory whose writes are marked in <paramref name="dirtyLog"/>.</summary>
    public static GuestRegion For(RamBlock block, DirtyBitmap dirtyLog)
    {
        ArgumentNullException.ThrowIfNull(block);
        fixed (byte* first = block.GetPage(0))
        {
            // The block's memory is native and never moves: the pointer stays valid while the block lives.
            return new GuestRegion(block.Name, first, block.Size, dirtyLog) { Block = block };
        }
    }

    /// <summary>The RAM block the region covers, when it was made from one.</summary>
    public RamBlock? Block { get; private init; }

    /// <summary>The RAM block's name.</summary>
    public string Name { get; }

    /// <summary>Start of the memory.</summary>
    public byte* BaseAddress { get; }

    /// <summary>Length in bytes.</summary>
    public long Length { get; }

    /// <summary>Number of pages.</summary>
    public long PageCount => Length / PageSizes.PageSize;

    /// <summary>The dirty log writers mark.</summary>
    public DirtyBitmap DirtyLog { get; }

    /// <summary>Page <paramref name="page"/> of the region.</summary>
    public Span<byte> Page(long page)
    {
        if ((ulong)page >= (ulong)PageCount)
        {
            throw new ArgumentOutOfRangeException(nameof(page), page, $"page must be in 0..{PageCount - 1}");
        }

        return new Span<byte>(BaseAddress + (page * PageSizes.PageSize), PageSizes.PageSize);
    }
}
