namespace Engine.Memory;

/// <summary>Named sizes of guest pages and of compressed page payloads.</summary>
internal static class PageSizes
{
    /// <summary>The target page size: 4 KiB.</summary>
    public const int PageSize = 4096;

    /// <summary>log2 of <see cref="PageSize"/>.</summary>
    public const int PageShift = 12;

    /// <summary>zlib's <c>compressBound(4096)</c>: the largest zlib payload QEMU accepts for one page.</summary>
    public const int ZlibBound = 4110;

    /// <summary>libzstd's <c>ZSTD_compressBound(4096)</c>: the largest zstd payload accepted for one page.</summary>
    public const int ZstdBound = 4174;

    /// <summary>The largest compressed payload of any method; output buffers of this size never overflow.</summary>
    public const int MaxCompressedPage = ZstdBound;
}
