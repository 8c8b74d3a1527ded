using System.Collections.Concurrent;
using System.Globalization;
using System.Reflection;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;
using Engine.Bench.Codecs;
using Engine.Bench.Pages;

namespace Engine.Bench.Columns;

/// <summary>
/// Compression ratio of the page mix (page bytes / bytes on the wire, raw pages counted as 4096) for the codec and level
/// of a row. It is a property of the codec, not of the timing, so the host process computes it once per codec and level
/// with the same pages and codec the benchmark process uses; the C rows and the native C# rows are checked to write the
/// same bytes before anything is timed.
/// </summary>
internal sealed class CompressionRatioColumn : IColumn
{
    private static readonly ConcurrentDictionary<(PageCodecKind, int), string> s_ratios = new();

    public static CompressionRatioColumn Instance { get; } = new();

    public string Id => nameof(CompressionRatioColumn);

    public string ColumnName => "Comp. ratio";

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 1;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => "Page-mix bytes / compressed bytes on the wire (pages that do not shrink count as raw 4096-byte pages)";

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        PageCodecAttribute? codec = benchmarkCase.Descriptor.WorkloadMethod.GetCustomAttribute<PageCodecAttribute>();
        if (codec is null || benchmarkCase.Parameters["Level"] is not int level)
        {
            return "-";
        }

        return s_ratios.GetOrAdd((codec.Kind, level), static key => Compute(key.Item1, key.Item2));
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;

    private static string Compute(PageCodecKind kind, int level)
    {
        try
        {
            using PageSet pages = PageSet.CreateMix();
            return CompressionRatios.Measure(kind, level, pages).Ratio.ToString("F2", CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is NotImplementedException or DllNotFoundException or EngineException { Kind: EngineErrorKind.Native } or InvalidOperationException)
        {
            return "NA";
        }
    }
}
