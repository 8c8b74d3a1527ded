using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Engine.Bench.Columns;
using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;

namespace Engine.Bench.Pipeline;

/// <summary>
/// End-to-end throughput of the multi-thread engines over 16 MiB of guest memory filled with the page mix: every page goes
/// through the zero check and, if not zero, a worker's copy and compressor (or decompressor), results in order. Times are
/// per guest page; the "vs 1 worker" column is the speed-up over one worker of the same codec, and Allocated counts every
/// thread's allocations (MemoryDiagnoser measures the whole process), per page.
/// </summary>
[Config(typeof(PipelineBenchmarkConfig))]
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class PipelineBenchmarks
{
    /// <summary>Guest pages per invocation: 16 MiB, larger than L2 (as guest memory is), smaller than L3.</summary>
    public const int GuestPages = 4096;

    private GuestMemory _source = null!;
    private GuestMemory _destination = null!;
    private RamBlock _sourceBlock = null!;
    private RamBlock _destinationBlock = null!;
    private CompressionEngine _compression = null!;
    private DecompressionEngine _decompression = null!;
    private PageResultHandler _countWire = null!;
    private WireRecording _recording = null!;
    private long _wireBytes;

    /// <summary>QEMU's default method and level, and zstd at the same level.</summary>
    [Params("zstd-1", "zlib-1")]
    public string Codec { get; set; } = "zstd-1";

    /// <summary>compress-threads (compress) and decompress-threads (decompress).</summary>
    [Params(1, 2, 8)]
    public int Workers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        string[] parts = Codec.Split('-');
        CompressionSettings settings = CompressionSettings.Parse(parts[0], int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture));

        _source = new GuestMemory();
        _sourceBlock = _source.AddBlock("pc.ram", (long)GuestPages * PageSizes.PageSize);
        PageMix.CreateMix(GuestPages, PageSet.MixSeed).CopyTo(_sourceBlock.GetSpan(0, GuestPages * PageSizes.PageSize));
        _destination = new GuestMemory();
        _destinationBlock = _destination.AddBlock("pc.ram", _sourceBlock.Size);

        _compression = new CompressionEngine(new CompressionEngineOptions { Compression = settings, CompressThreads = Workers });
        _decompression = new DecompressionEngine(new DecompressionEngineOptions { Method = settings.Method, DecompressThreads = Workers });
        _countWire = CountWire;

        // What the destination receives: every result of one compression pass, recorded once.
        _recording = WireRecording.Record(_compression, _sourceBlock);
        long wire = Compress();
        if (wire != _recording.WireBytes)
        {
            throw new InvalidOperationException($"two compression passes put {wire} and {_recording.WireBytes} bytes on the wire.");
        }

        Decompress();
        if (!_destinationBlock.GetSpan(0, GuestPages * PageSizes.PageSize).SequenceEqual(_sourceBlock.GetSpan(0, GuestPages * PageSizes.PageSize)))
        {
            throw new InvalidOperationException("the decompression engine did not rebuild the guest memory byte for byte.");
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _compression.Dispose();
        _decompression.Dispose();
        _source.Dispose();
        _destination.Dispose();
    }

    [Benchmark(OperationsPerInvoke = GuestPages)]
    [BenchmarkCategory("compress")]
    public long Compress()
    {
        _wireBytes = 0;
        _compression.CompressBlock(_sourceBlock, _countWire);
        return _wireBytes;
    }

    [Benchmark(OperationsPerInvoke = GuestPages)]
    [BenchmarkCategory("decompress")]
    public long Decompress()
    {
        _recording.Replay(_decompression, _destinationBlock);
        _decompression.WaitForDone();
        return _recording.WireBytes;
    }

    private void CountWire(in PageResult result) => _wireBytes += result.Length;
}
