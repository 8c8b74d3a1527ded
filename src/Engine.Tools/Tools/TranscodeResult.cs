namespace Engine.Tools;

/// <summary>What <see cref="Transcoder"/> read and wrote.</summary>
public sealed class TranscodeResult
{
    /// <summary>Bytes read from the input, all of it.</summary>
    public long BytesRead { get; set; }

    /// <summary>Bytes written to the output, all of it.</summary>
    public long BytesWritten { get; set; }

    /// <summary>Bytes after RAM's END copied verbatim (device state, EOF, VM description).</summary>
    public long BytesCopiedAfterRam { get; set; }

    /// <summary>Zero page records written.</summary>
    public long ZeroPages { get; set; }

    /// <summary>Raw page records written (method none, or pages that do not shrink).</summary>
    public long RawPages { get; set; }

    /// <summary>Compressed page records written.</summary>
    public long CompressedPages { get; set; }

    /// <summary>XBZRLE records passed through unchanged.</summary>
    public long XbzrlePages { get; set; }

    /// <summary>Compressed page records of the input that were decompressed.</summary>
    public long DecompressedPages { get; set; }
}
