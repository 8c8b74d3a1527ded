using BenchmarkDotNet.Configs;

namespace Engine.Bench.Columns;

/// <summary>The pipeline benchmarks' config: MB/s of guest pages, and the speed-up over one worker.</summary>
internal sealed class PipelineBenchmarkConfig : ManualConfig
{
    public PipelineBenchmarkConfig()
    {
        AddColumn(ThroughputColumn.MegabytesPerSecond, WorkerScalingColumn.Instance);
    }
}
