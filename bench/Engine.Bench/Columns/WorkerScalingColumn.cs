using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Engine.Bench.Columns;

/// <summary>
/// Speed-up over one worker: the mean time per page of the same benchmark and codec with Workers = 1, divided by this row's.
/// Targets on the 2-core machine: 2 workers at least 1.8x, 8 workers no more than 5% below 2 workers.
/// </summary>
internal sealed class WorkerScalingColumn : IColumn
{
    public const string WorkersParameter = "Workers";

    public static WorkerScalingColumn Instance { get; } = new();

    public string Id => nameof(WorkerScalingColumn);

    public string ColumnName => "vs 1 worker";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 2;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Speed-up over the same benchmark and codec with one worker";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        BenchmarkCase? single = summary.BenchmarksCases.FirstOrDefault(other =>
            other.Descriptor == benchmarkCase.Descriptor
            && other.Job == benchmarkCase.Job
            && other.Parameters[WorkersParameter] is 1
            && other.Parameters.Items.All(p => p.Name == WorkersParameter || Equals(p.Value, benchmarkCase.Parameters[p.Name])));
        double? singleMean = single is null ? null : summary[single]?.ResultStatistics?.Mean;
        double? mean = summary[benchmarkCase]?.ResultStatistics?.Mean;
        if (singleMean is not > 0 || mean is not > 0)
        {
            return "NA";
        }

        return (singleMean.Value / mean.Value).ToString("F2", CultureInfo.InvariantCulture) + "x";
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
