using Engine.Codecs;

namespace Engine.Cli.Analysis;

/// <summary>What one <see cref="CodecCandidate"/> did with a set of pages.</summary>
internal sealed record CodecMeasurement
{
    /// <summary>The candidate measured.</summary>
    public required CodecCandidate Candidate { get; init; }

    /// <summary>Compress worker threads used (1: the caller's own thread, no engine).</summary>
    public required int Threads { get; init; }

    /// <summary>Decompress worker threads used (0: the caller's own thread, no engine).</summary>
    public int DecompressThreads { get; init; }

    /// <summary>Pages handled.</summary>
    public required long Pages { get; init; }

    /// <summary>Pages found to be all zero (sent as ZERO records, no payload).</summary>
    public required long ZeroPages { get; init; }

    /// <summary>Pages sent compressed.</summary>
    public required long CompressedPages { get; init; }

    /// <summary>Non-zero pages that did not shrink, sent raw.</summary>
    public required long RawPages { get; init; }

    /// <summary>Bytes of compressed payloads (without the 4-byte length each record carries).</summary>
    public required long PayloadBytes { get; init; }

    /// <summary>Wall time of compressing every page, zero check included.</summary>
    public required TimeSpan CompressTime { get; init; }

    /// <summary>Wall time of restoring the pages (through the decompression engine, every page; single-threaded, the compressed ones).</summary>
    public required TimeSpan DecompressTime { get; init; }

    /// <summary>Every page came back byte for byte.</summary>
    public required bool Verified { get; init; }

    /// <summary>Non-zero page bytes over the bytes sent for them (payloads, and 4096 for each raw page).</summary>
    public double Ratio
    {
        get
        {
            long nonZero = CompressedPages + RawPages;
            long sent = PayloadBytes + (RawPages * PageCodecs.PageSize);
            return sent == 0 ? 0 : (double)(nonZero * PageCodecs.PageSize) / sent;
        }
    }

    /// <summary>QEMU's compression rate: compressed pages × 4096 over their compressed size (payload + 4-byte length).</summary>
    public double CompressionRate
    {
        get
        {
            long size = PayloadBytes + (4 * CompressedPages);
            return size == 0 ? 0 : (double)(CompressedPages * PageCodecs.PageSize) / size;
        }
    }

    /// <summary>Average payload bytes per compressed page.</summary>
    public double BytesPerCompressedPage => CompressedPages == 0 ? 0 : (double)PayloadBytes / CompressedPages;

    /// <summary>Guest page bytes compressed per second, in MB/s (10^6).</summary>
    public double CompressMBps => Rate(Pages, CompressTime);

    /// <summary>Page bytes restored per second, in MB/s (10^6): every page through the engine, the compressed ones single-threaded.</summary>
    public double DecompressMBps => Rate(DecompressThreads > 0 ? Pages : CompressedPages, DecompressTime);

    private static double Rate(long pages, TimeSpan time)
        => time <= TimeSpan.Zero ? 0 : pages * (double)PageCodecs.PageSize / time.TotalSeconds / 1e6;
}
