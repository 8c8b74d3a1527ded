using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Bench.Columns;

/// <summary>
/// Throughput of guest-page data: one 4 KiB page per operation (every page benchmark sets OperationsPerInvoke to its page
/// count) divided by the mean time per operation. MB and GB are decimal (10^6, 10^9 bytes), as zstd and lzbench report.
/// </summary>
internal sealed class ThroughputColumn : IColumn
{
    private readonly double _bytesPerUnit;

    private ThroughputColumn(string unit, double bytesPerUnit)
    {
        ColumnName = unit;
        _bytesPerUnit = bytesPerUnit;
    }

    public static ThroughputColumn MegabytesPerSecond { get; } = new("MB/s", 1e6);

    public static ThroughputColumn GigabytesPerSecond { get; } = new("GB/s", 1e9);

    public string Id => nameof(ThroughputColumn) + ColumnName;

    public string ColumnName { get; }

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => $"Page data per second ({ColumnName}, 4096-byte pages / mean time per page)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        double? meanNs = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (meanNs is not > 0)
        {
            return "NA";
        }

        double perSecond = PageSizes.PageSize / (meanNs.Value * 1e-9) / _bytesPerUnit;
        return perSecond >= 100 ? perSecond.ToString("N0") : perSecond.ToString("N2");
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
