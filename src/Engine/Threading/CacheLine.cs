namespace Engine.Threading;

/// <summary>Sizes used to keep fields that different threads write on different cache lines.</summary>
internal static class CacheLine
{
    /// <summary>
    /// The distance kept between fields written by different threads: 128 bytes, not 64, because Intel's spatial
    /// prefetcher pulls cache lines in adjacent pairs and Apple's and some Arm cores have 128-byte lines.
    /// </summary>
    public const int PaddingSize = 128;
}
