namespace Engine.Relay;

/// <summary>What a <see cref="MigrationRelay"/> carried.</summary>
public sealed record RelayResult
{
    /// <summary>Bytes read from the source.</summary>
    public long BytesIn { get; init; }

    /// <summary>Bytes written to the destination.</summary>
    public long BytesOut { get; init; }

    /// <summary>With multifd to the destination: true when its barriers were written per round (MULTIFD_FLUSH records), false per section; null for one stream.</summary>
    public bool? MultifdPerRound { get; init; }

    /// <summary>Bytes after RAM's END passed on verbatim (device state, EOF, VM description).</summary>
    public long BytesAfterRam { get; init; }

    /// <summary>Page records written: zero, raw, compressed; XBZRLE records passed on.</summary>
    public long ZeroPages { get; init; }

    /// <summary>Raw page records written.</summary>
    public long RawPages { get; init; }

    /// <summary>Compressed page records written.</summary>
    public long CompressedPages { get; init; }

    /// <summary>XBZRLE records passed on unchanged.</summary>
    public long XbzrlePages { get; init; }

    /// <summary>From the first byte read to the last byte written.</summary>
    public TimeSpan Elapsed { get; init; }
}
