using Engine.Memory;

namespace Engine.Codecs;

/// <summary>Turns a <see cref="DecompressStatus"/> into words for error reports.</summary>
internal static class DecompressStatusExtensions
{
    /// <summary>A clear English sentence that says what was wrong with the payload (or that nothing was).</summary>
    public static string Describe(this DecompressStatus status) => status switch
    {
        DecompressStatus.Ok => "the payload decompressed to exactly one 4096-byte page",
        DecompressStatus.Empty => "the compressed payload is empty (0 bytes)",
        DecompressStatus.TooLong =>
            $"the compressed payload is longer than its method's bound for one page ({PageSizes.ZlibBound} bytes for zlib, {PageSizes.ZstdBound} bytes for zstd)",
        DecompressStatus.UnknownFormat =>
            "the payload starts neither with a zlib header (deflate, window at most 32 KiB, valid check bits, no preset dictionary) nor with the zstd magic 28 B5 2F FD",
        DecompressStatus.WrongMethod =>
            "the payload is compressed with another method than the configured compress-method (the two ends disagree on compress-method)",
        DecompressStatus.Corrupt =>
            "the payload is corrupt or truncated: bad compressed data, a bad checksum, an incomplete stream, or bytes after its end",
        DecompressStatus.WrongSize =>
            $"the payload is a valid stream but does not decompress to exactly one {PageSizes.PageSize}-byte page",
        DecompressStatus.DestinationTooSmall =>
            $"the destination is smaller than one {PageSizes.PageSize}-byte page (a programming error)",
        _ => $"unknown decompress status {(int)status}",
    };
}
