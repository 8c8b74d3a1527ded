using System.Globalization;
using System.Numerics;
using Engine.Codecs;

namespace Engine.Pipeline;

/// <summary>The parameters of a <see cref="CompressionEngine"/>, with QEMU's defaults.</summary>
public sealed record CompressionEngineOptions
{
    /// <summary>The fewest compress threads: 1.</summary>
    public const int MinThreads = ThreadCounts.Min;

    /// <summary>The most compress threads: 255 (QEMU's <c>uint8</c> parameter).</summary>
    public const int MaxThreads = ThreadCounts.Max;

    /// <summary>QEMU's default <c>compress-threads</c>: 8.</summary>
    public const int DefaultThreads = ThreadCounts.DefaultCompress;

    /// <summary>The default number of pages each worker may hold (queued, in work, or waiting to be received): 16.</summary>
    public const int DefaultRingCapacity = 16;

    /// <summary>The largest <see cref="RingCapacity"/>.</summary>
    public const int MaxRingCapacity = 1024;

    /// <summary>The most pages in one submission: 128, a multifd packet's worth.</summary>
    public const int MaxBatchPages = 128;

    /// <summary>The method and level (<c>compress-method</c>, <c>compress-level</c>); default zlib level 1.</summary>
    public CompressionSettings Compression { get; init; } = CompressionSettings.Default;

    /// <summary><c>compress-threads</c>: the number of compress workers, 1 to 255; default 8.</summary>
    public int CompressThreads { get; init; } = DefaultThreads;

    /// <summary>
    /// <c>compress-wait-thread</c>: true (the default) makes the caller wait for a worker when every worker is full;
    /// false hands the page back uncompressed at once and counts it as busy.
    /// </summary>
    public bool CompressWaitThread { get; init; } = true;

    /// <summary>
    /// The depth of each worker's rings and output slots: how many submissions (of up to <see cref="BatchPages"/> pages)
    /// one worker can hold at once (a power of two, 1 to 1024; default 16). QEMU's threads hold one page.
    /// </summary>
    public int RingCapacity { get; init; } = DefaultRingCapacity;

    /// <summary>
    /// The most pages one submission may carry (1 to 128; default 1). A worker takes a whole submission at once and hands
    /// it back as one result, so the caller pays one hand-off, one wake-up and at most one wait per batch instead of per
    /// page (QEMU's multifd hands a channel 128 pages). Each worker holds <see cref="RingCapacity"/> batches.
    /// </summary>
    public int BatchPages { get; init; } = 1;

    /// <summary>The zlib implementation of zlib compressors.</summary>
    public ZlibImplementation Zlib { get; init; } = ZlibImplementation.Native;

    /// <summary>Throws <see cref="EngineParameterException"/>, naming the parameter, the value and the accepted range, for a bad value.</summary>
    public void Validate()
    {
        ThreadCounts.Check("compress-threads", CompressThreads);

        ValidateRingCapacity(RingCapacity);
        if (BatchPages is < 1 or > MaxBatchPages)
        {
            throw new EngineParameterException(
                "batch-pages",
                string.Create(CultureInfo.InvariantCulture, $"batch-pages {BatchPages} is out of range: accepted 1 to {MaxBatchPages}"));
        }

        if (!CompressionSettings.TryValidate(Compression.Method, Compression.Level, out string? error))
        {
            throw new EngineParameterException("compress-level", error);
        }

        if (!Enum.IsDefined(Zlib))
        {
            throw new EngineParameterException("zlib-implementation", $"zlib implementation {(int)Zlib} is unknown: accepted Native, SharpZipLib");
        }
    }

    internal static void ValidateRingCapacity(int capacity)
    {
        if (capacity is < 1 or > MaxRingCapacity || !BitOperations.IsPow2(capacity))
        {
            throw new EngineParameterException(
                "ring-capacity",
                string.Create(CultureInfo.InvariantCulture, $"ring-capacity {capacity} is not accepted: a power of two from 1 to {MaxRingCapacity}"));
        }
    }
}
