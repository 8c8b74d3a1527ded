namespace Engine.Codecs;

/// <summary>The compression method of multi-thread compression (QEMU's <c>compress-method</c>).</summary>
public enum CompressMethod : byte
{
    /// <summary>No compression: every non-zero page goes out as a raw page.</summary>
    None = 0,

    /// <summary>One complete zlib stream (RFC 1950) per page, as QEMU 7.2 writes it.</summary>
    Zlib = 1,

    /// <summary>One complete zstd frame per page, as the "Multi-thread compression method support" series writes it.</summary>
    Zstd = 2,
}
