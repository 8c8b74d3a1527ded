using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;

namespace Engine.Bench.Columns;

/// <summary>
/// The codec benchmarks' config: allocations per page (MemoryDiagnoser), page throughput in MB/s, the compression ratio,
/// and the Ratio column against each group's Baseline (the C loop). The job comes from the command line (--job short
/// while developing, the default job for the published figures).
/// </summary>
internal sealed class PageBenchmarkConfig : ManualConfig
{
    public PageBenchmarkConfig()
    {
        AddDiagnoser(MemoryDiagnoser.Default);
        AddColumn(ThroughputColumn.MegabytesPerSecond, CompressionRatioColumn.Instance);
        AddColumn(BaselineRatioColumn.RatioMean);
        SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
    }
}
