namespace Engine.Tools;

/// <summary>One RAM block of a <see cref="StreamSummary"/>.</summary>
public sealed class BlockSummary
{
    /// <summary>Creates the summary of a block.</summary>
    public BlockSummary(string name, long length)
    {
        Name = name;
        Length = length;
    }

    /// <summary>The block's id string.</summary>
    public string Name { get; }

    /// <summary>The block's used length.</summary>
    public long Length { get; }

    /// <summary>Zero page records.</summary>
    public long ZeroPages { get; set; }

    /// <summary>Raw page records.</summary>
    public long RawPages { get; set; }

    /// <summary>Compressed page records.</summary>
    public long CompressedPages { get; set; }

    /// <summary>XBZRLE records.</summary>
    public long XbzrlePages { get; set; }

    /// <summary>In a mapped-ram file: pages present at their fixed offsets (bitmap bits set); the others are zero.</summary>
    public long? MappedPages { get; set; }

    /// <summary>In a mapped-ram file: the file offset of the block's bitmap.</summary>
    public long? BitmapOffset { get; set; }

    /// <summary>In a mapped-ram file: the bitmap's size in bytes.</summary>
    public long? BitmapSize { get; set; }

    /// <summary>In a mapped-ram file: the file offset of the block's page 0.</summary>
    public long? PagesOffset { get; set; }
}
