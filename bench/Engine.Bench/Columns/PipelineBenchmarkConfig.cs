using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace Engine.Bench.Columns;

/// <summary>The pipeline benchmarks' config: allocations (all threads), MB/s of guest pages, and the speed-up over one worker.</summary>
internal sealed class PipelineBenchmarkConfig : ManualConfig
{
    public PipelineBenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(ThroughputColumn.MegabytesPerSecond, WorkerScalingColumn.Instance);
    }
}
