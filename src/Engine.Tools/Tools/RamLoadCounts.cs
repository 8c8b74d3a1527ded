using Engine.Wire;

namespace Engine.Tools;

/// <summary>What <see cref="RamStreamLoader.Load(MigrationStreamReader, IRamSink)"/> read.</summary>
public sealed class RamLoadCounts
{
    /// <summary>Zero page records.</summary>
    public long ZeroPages { get; set; }

    /// <summary>Raw page records.</summary>
    public long RawPages { get; set; }

    /// <summary>Compressed page records.</summary>
    public long CompressedPages { get; set; }

    /// <summary>XBZRLE records.</summary>
    public long XbzrlePages { get; set; }

    /// <summary>Pages read from their fixed offsets in a mapped-ram file (bitmap bits set).</summary>
    public long MappedRamPages { get; set; }

    /// <summary>RAM sections (EOS markers).</summary>
    public long Sections { get; set; }

    /// <summary>True when the RAM section's END was read.</summary>
    public bool RamComplete { get; set; }

    /// <summary>Bytes consumed from the stream.</summary>
    public long BytesRead { get; set; }
}
