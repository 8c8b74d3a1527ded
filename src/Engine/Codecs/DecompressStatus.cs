namespace Engine.Codecs;

/// <summary>What became of one compressed payload handed to a <see cref="IPageDecompressor"/>.</summary>
public enum DecompressStatus
{
    /// <summary>The payload decompressed to exactly one 4096-byte page.</summary>
    Ok = 0,

    /// <summary>The payload is empty.</summary>
    Empty,

    /// <summary>The payload is longer than the method's bound for one page.</summary>
    TooLong,

    /// <summary>The payload's first bytes are neither a zlib header nor the zstd magic.</summary>
    UnknownFormat,

    /// <summary>The payload is of another method than the configured one (strict mode only).</summary>
    WrongMethod,

    /// <summary>The payload is corrupt or truncated (bad data, bad checksum, incomplete stream).</summary>
    Corrupt,

    /// <summary>The payload is a valid stream but does not decompress to exactly 4096 bytes.</summary>
    WrongSize,

    /// <summary>The destination is smaller than one page. A programming error.</summary>
    DestinationTooSmall,
}
