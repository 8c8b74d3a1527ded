using Engine.Codecs;
using Engine.Memory;

namespace Engine.Pipeline;

/// <summary>
/// A consistent snapshot of a compression engine's counters, as QEMU's <c>info migrate</c> reports them
/// (<c>CompressionStats</c>, plus the duplicate and normal page counts of the pages the engine handled).
/// </summary>
internal readonly record struct CompressionStatistics
{
    /// <summary>"compression pages": pages that went out compressed.</summary>
    public long Pages { get; init; }

    /// <summary>"compression busy": pages handed back raw (or zero) because no worker was free (compress-wait-thread off).</summary>
    public long Busy { get; init; }

    /// <summary>
    /// "compressed size": bytes of compressed page records minus their 8-byte header, as QEMU counts them: the 4-byte
    /// length plus the payload, per compressed page.
    /// </summary>
    public long CompressedSize { get; init; }

    /// <summary>"duplicate": zero pages, found by the workers (or by the caller for busy pages).</summary>
    public long ZeroPages { get; init; }

    /// <summary>"normal": pages that went out raw (incompressible, method none, or busy).</summary>
    public long NormalPages { get; init; }

    /// <summary>Every page handled: zero, compressed and raw (QEMU's <c>target_page_count</c> for these pages).</summary>
    public long TotalPages => Pages + ZeroPages + NormalPages;

    /// <summary>"compression busy rate" over the engine's life: busy pages per page handled.</summary>
    public double BusyRate => TotalPages == 0 ? 0 : (double)Busy / TotalPages;

    /// <summary>"compression rate" over the engine's life: page bytes per compressed byte (0 before the first compressed page).</summary>
    public double CompressionRate => CompressedSize == 0 ? 0 : (double)Pages * PageSizes.PageSize / CompressedSize;

    /// <summary>The counts of two engines (or of one engine's two lives) together.</summary>
    public static CompressionStatistics operator +(in CompressionStatistics a, in CompressionStatistics b) => new()
    {
        Pages = a.Pages + b.Pages,
        Busy = a.Busy + b.Busy,
        CompressedSize = a.CompressedSize + b.CompressedSize,
        ZeroPages = a.ZeroPages + b.ZeroPages,
        NormalPages = a.NormalPages + b.NormalPages,
    };

    /// <summary>QEMU's rates for the period between <paramref name="previous"/> and this snapshot.</summary>
    public CompressionRates RatesSince(in CompressionStatistics previous)
    {
        long pages = TotalPages - previous.TotalPages;
        long size = CompressedSize - previous.CompressedSize;
        double busyRate = pages == 0 ? 0 : (double)(Busy - previous.Busy) / pages;
        double? compressionRate = size == 0 ? null : (double)(Pages - previous.Pages) * PageSizes.PageSize / size;
        return new CompressionRates(busyRate, compressionRate);
    }
}
