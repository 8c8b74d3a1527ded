using BenchmarkDotNet.Configs;

namespace Engine.Bench.Columns;

/// <summary>The zero-page check's config: throughput in GB/s (the target is at least 20 GB/s on cached pages).</summary>
internal sealed class ZeroPageBenchmarkConfig : ManualConfig
{
    public ZeroPageBenchmarkConfig()
    {
        AddColumn(ThroughputColumn.GigabytesPerSecond);
    }
}
