using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;

namespace Engine.Bench.Columns;

/// <summary>
/// The codec benchmarks' config (each class also carries [MemoryDiagnoser]): page throughput in MB/s, the compression ratio,
/// and the Ratio column against each group's Baseline (the C loop). The job comes from the command line (--job short
/// while developing, the default job for the published figures).
/// </summary>
internal sealed class PageBenchmarkConfig : ManualConfig
{
    public PageBenchmarkConfig()
    {
        AddColumn(ThroughputColumn.MegabytesPerSecond, CompressionRatioColumn.Instance);
        AddColumn(BaselineRatioColumn.RatioMean);
        SummaryStyle = BenchmarkDotNet.Reports.SummaryStyle.Default.WithRatioStyle(RatioStyle.Trend);
    }
}
