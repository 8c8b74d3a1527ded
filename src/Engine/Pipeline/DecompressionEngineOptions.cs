using System.Globalization;
using Engine.Codecs;

namespace Engine.Pipeline;

/// <summary>The parameters of a <see cref="DecompressionEngine"/>, with QEMU's defaults.</summary>
public sealed record DecompressionEngineOptions
{
    /// <summary>The fewest decompress threads: 1.</summary>
    public const int MinThreads = ThreadCounts.Min;

    /// <summary>The most decompress threads: 255 (QEMU's <c>uint8</c> parameter).</summary>
    public const int MaxThreads = ThreadCounts.Max;

    /// <summary>QEMU's default <c>decompress-threads</c>: 2.</summary>
    public const int DefaultThreads = ThreadCounts.DefaultDecompress;

    /// <summary>
    /// The default ring depth: 64 pages per worker. Deeper than the compressor's 16 because a decompressed page is cheap
    /// (about 2.7 µs for zstd-1): with 64 the caller refills a worker's ring a half ring (32 pages) at a time, parks less, and
    /// leaves the cores to the workers (measured faster than 16 with zstd-1 and 2 workers: docs/PERFORMANCE.md, Pipeline).
    /// Cost: 64 × 4174 bytes of payload slots per worker.
    /// </summary>
    public const int DefaultRingCapacity = 64;

    /// <summary><c>decompress-threads</c>: the number of decompress workers, 1 to 255; default 2.</summary>
    public int DecompressThreads { get; init; } = DefaultThreads;

    /// <summary>The configured <c>compress-method</c>; the decoders tell zlib from zstd by the payload unless <see cref="Strict"/>.</summary>
    public CompressMethod Method { get; init; } = CompressMethod.Zlib;

    /// <summary>True: a payload of another method than <see cref="Method"/> is an error (<see cref="DecompressStatus.WrongMethod"/>).</summary>
    public bool Strict { get; init; }

    /// <summary>
    /// The depth of each worker's ring and payload buffers: how many pages one worker can have queued (a power of two,
    /// 1 to 1024; default <see cref="DefaultRingCapacity"/>).
    /// </summary>
    public int RingCapacity { get; init; } = DefaultRingCapacity;

    /// <summary>The zlib implementation of zlib decompressors.</summary>
    public ZlibImplementation Zlib { get; init; } = ZlibImplementation.Native;

    /// <summary>Throws <see cref="EngineParameterException"/>, naming the parameter, the value and the accepted range, for a bad value.</summary>
    public void Validate()
    {
        ThreadCounts.Check("decompress-threads", DecompressThreads);

        CompressionEngineOptions.ValidateRingCapacity(RingCapacity);
        if (!Enum.IsDefined(Method))
        {
            throw new EngineParameterException(
                "compress-method", string.Create(CultureInfo.InvariantCulture, $"compress-method {(int)Method} is unknown; known methods are: none, zlib, zstd"));
        }

        if (!Enum.IsDefined(Zlib))
        {
            throw new EngineParameterException("zlib-implementation", $"zlib implementation {(int)Zlib} is unknown: accepted Native, SharpZipLib");
        }
    }
}
