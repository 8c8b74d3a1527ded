using System.Diagnostics;

namespace Engine.Bench.Checks;

/// <summary>
/// Times a baseline and its variants interleaved, round after round, and reports each variant's time as the median of its
/// per-round ratios to the baseline. On a shared machine the load changes from second to second; rows that BenchmarkDotNet
/// runs one after the other can land in different load, rows timed side by side within a round land in the same.
/// </summary>
internal sealed class PairedComparison
{
    /// <summary>A sample is at least this long: batches are repeated until it is.</summary>
    private static readonly TimeSpan s_minSample = TimeSpan.FromMilliseconds(10);

    /// <summary>Warm-up per row: long enough for tiered JIT to reach its optimized code (and OSR to settle).</summary>
    private static readonly TimeSpan s_warmup = TimeSpan.FromMilliseconds(300);

    private readonly List<(string Name, Func<long> Run)> _rows = [];

    public PairedComparison(string title, int operationsPerRun)
    {
        Title = title;
        OperationsPerRun = operationsPerRun;
    }

    public string Title { get; }

    public int OperationsPerRun { get; }

    /// <summary>Adds a row; the first one added is the baseline.</summary>
    public PairedComparison Add(string name, Func<long> run)
    {
        _rows.Add((name, run));
        return this;
    }

    /// <summary>Runs <paramref name="rounds"/> rounds; in each, every row is timed once, in a rotating order.</summary>
    public IReadOnlyList<PairedResult> Run(int rounds)
    {
        int[] repeats = new int[_rows.Count];
        for (int r = 0; r < _rows.Count; r++)
        {
            repeats[r] = WarmUp(_rows[r].Run);
        }

        double[][] nsPerOp = [.. _rows.Select(_ => new double[rounds])];
        for (int round = 0; round < rounds; round++)
        {
            for (int k = 0; k < _rows.Count; k++)
            {
                // Rotate who goes first, so no row always runs right after another's cache footprint.
                int r = (round + k) % _rows.Count;
                nsPerOp[r][round] = Time(_rows[r].Run, repeats[r]);
            }
        }

        List<PairedResult> results = [];
        for (int r = 0; r < _rows.Count; r++)
        {
            double[] ratios = [.. Enumerable.Range(0, rounds).Select(i => nsPerOp[r][i] / nsPerOp[0][i])];
            results.Add(new PairedResult(_rows[r].Name, Median(nsPerOp[r]), Median(ratios), ratios.Min(), ratios.Max()));
        }

        return results;
    }

    private int WarmUp(Func<long> run)
    {
        Stopwatch total = Stopwatch.StartNew();
        int calls = 0;
        long start = Stopwatch.GetTimestamp();
        while (total.Elapsed < s_warmup || calls < 30)
        {
            run();
            calls++;
        }

        double perCall = Stopwatch.GetElapsedTime(start).TotalNanoseconds / calls;
        return Math.Max(1, (int)Math.Ceiling(s_minSample.TotalNanoseconds / perCall));
    }

    private double Time(Func<long> run, int repeats)
    {
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < repeats; i++)
        {
            run();
        }

        return Stopwatch.GetElapsedTime(start).TotalNanoseconds / ((double)repeats * OperationsPerRun);
    }

    private static double Median(double[] values)
    {
        double[] sorted = [.. values.Order()];
        int mid = sorted.Length / 2;
        return sorted.Length % 2 == 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
    }
}
