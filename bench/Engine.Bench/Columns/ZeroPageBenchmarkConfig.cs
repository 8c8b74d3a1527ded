using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace Engine.Bench.Columns;

/// <summary>The zero-page check's config: allocations and throughput in GB/s (the target is at least 20 GB/s on cached pages).</summary>
internal sealed class ZeroPageBenchmarkConfig : ManualConfig
{
    public ZeroPageBenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(ThroughputColumn.GigabytesPerSecond);
    }
}
