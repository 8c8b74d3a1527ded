namespace Engine.Bench.Checks;

/// <summary>One row of a <see cref="PairedComparison"/>: median time per operation, and its ratio to the baseline (median, min, max over the rounds), and the median number of cores the process kept busy.</summary>
internal readonly record struct PairedResult(string Name, double NsPerOp, double Ratio, double MinRatio, double MaxRatio, double Cores);
