using Engine.Codecs;

namespace Engine.Wire;

/// <summary>Limits and behaviour of a <see cref="MigrationStreamReader"/>; a caller that changes some takes a copy with <c>with</c>.</summary>
internal sealed record MigrationStreamReaderOptions
{
    /// <summary>Default for <see cref="MaxTotalRamBytes"/>: 1 TiB.</summary>
    public const long DefaultMaxTotalRamBytes = 1L << 40;

    /// <summary>Default for <see cref="MaxVmDescriptionLength"/>: 16 MiB.</summary>
    public const int DefaultMaxVmDescriptionLength = 16 << 20;

    /// <summary>
    /// Stop after the RAM section's END footer (the default). A QEMU migration file goes on with device (FULL) sections
    /// whose layout needs their schema; use <see cref="MigrationStreamReader.CopyRemainderTo"/> to pass them on
    /// verbatim. When false the reader goes on and expects EOF, then an optional VM description, then the end of input
    /// (the shape of a stream Engine writes).
    /// </summary>
    public bool StopAfterRamEnd { get; init; } = true;

    /// <summary>
    /// The most RAM the block list may announce. Sinks allocate or map guest memory by the announced lengths, so this is
    /// the cap on what a hostile stream can make them reserve.
    /// </summary>
    public long MaxTotalRamBytes { get; init; } = DefaultMaxTotalRamBytes;

    /// <summary>The longest VM description (after EOF) accepted; it is skipped, never buffered whole.</summary>
    public int MaxVmDescriptionLength { get; init; } = DefaultMaxVmDescriptionLength;

    /// <summary>
    /// When set, a compressed page of another method is rejected (strict mode). When null, each payload's method is told
    /// by its first bytes (zlib header or zstd magic) and any is accepted.
    /// </summary>
    public CompressMethod? ExpectedCompressMethod { get; init; }

    /// <summary>
    /// How long one read of the input may wait for data before the reader fails with a
    /// <see cref="MigrationStreamException"/> saying the input stalled. <see cref="Timeout.InfiniteTimeSpan"/> (the
    /// default) waits forever, as a file needs. For a network peer set this (or cancel <see cref="CancellationToken"/>);
    /// after a stall the reader is faulted and the caller should dispose the input stream.
    /// </summary>
    public TimeSpan ReadTimeout { get; init; } = Timeout.InfiniteTimeSpan;

    /// <summary>Cancels a pending or future read; the reader then throws <see cref="OperationCanceledException"/>.</summary>
    public CancellationToken CancellationToken { get; init; }

    /// <summary>
    /// Accept a QEMU mapped-ram file (9.0+, the <c>mapped-ram</c> capability; libvirt's <c>virsh save</c> format). Its
    /// pages are not records in the stream but sit at fixed file offsets that
    /// <see cref="MigrationStreamReader.MappedRamBlocks"/> describes, so only a caller that reads them there (inspect,
    /// extract, <see cref="MappedRamReader"/>) may set this; by default such a stream is refused at its capability, so a
    /// consumer that only takes page records never loads a mapped-ram file as all-zero memory.
    /// </summary>
    public bool AcceptMappedRam { get; init; }

    /// <summary>Size of the reader's one input buffer; at least <see cref="MinBufferSize"/>.</summary>
    public int BufferSize { get; init; } = MinBufferSize;

    /// <summary>
    /// The smallest buffer (1 MiB): every item's bytes must be contiguous, and the largest item (a RAM block list of
    /// <see cref="MigrationFormat.MaxRamBlocks"/> entries) takes about 280 KiB; the rest is room for large reads.
    /// </summary>
    public const int MinBufferSize = 1024 * 1024;
}
