namespace Engine.Bench.Checks;

/// <summary>One row of a <see cref="PairedComparison"/>: median time per operation, and its ratio to the baseline (median, min, max over the rounds).</summary>
internal readonly record struct PairedResult(string Name, double NsPerOp, double Ratio, double MinRatio, double MaxRatio);
