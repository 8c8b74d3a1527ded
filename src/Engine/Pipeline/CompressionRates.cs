namespace Engine.Pipeline;

/// <summary>QEMU's per-period compression rates (<c>migration_update_rates</c>): computed between two statistics snapshots.</summary>
/// <param name="BusyRate">Busy pages per page handled in the period (QEMU's <c>busy_rate</c>).</param>
/// <param name="CompressionRate">Page bytes per compressed byte in the period, or null when nothing was compressed in it (QEMU then keeps the previous value).</param>
internal readonly record struct CompressionRates(double BusyRate, double? CompressionRate);
