namespace Engine.Codecs;

/// <summary>What became of one page handed to a <see cref="IPageCompressor"/>.</summary>
public enum CompressResult
{
    /// <summary>The page compressed to fewer than 4096 bytes; the payload is in the destination.</summary>
    Compressed = 0,

    /// <summary>The page does not shrink (or the method is <c>none</c>): send it as a raw page.</summary>
    SendRaw = 1,

    /// <summary>The destination is smaller than the method's bound; nothing was written. A programming error.</summary>
    DestinationTooSmall = 2,
}
