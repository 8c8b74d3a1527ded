namespace Engine.Migration;

/// <summary>How a <see cref="SourceMigration"/> runs, beyond QEMU's parameters.</summary>
public sealed record SourceMigrationOptions
{
    /// <summary>The clock; tests may pass another.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>QEMU's rate period for the dirty rate and auto-converge (1 s). Tiny test guests use a shorter one.</summary>
    public TimeSpan RatePeriod { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>How long the source waits for the destination's confirmation after the stream's end.</summary>
    public TimeSpan ReplyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The machine type in the stream's configuration section.</summary>
    public string MachineType { get; init; } = "pc-q35-7.2";

    /// <summary>The UUID a <see cref="MultifdSource"/>'s channels carry (QEMU's <c>-uuid</c>); all zero by default, as QEMU without <c>-uuid</c>.</summary>
    public Guid Uuid { get; init; }

    /// <summary>
    /// Whether the source's checksum is hashed while the pages are sent (true) or in one pass after the stream's end
    /// (false); null (the default) decides by the cores (<see cref="SourceChecksums.HashWhileSendingOn"/>). For tests.
    /// </summary>
    internal bool? ChecksumWhileSending { get; init; }

    /// <summary>Called on the migration thread after every iteration (keep it short); for progress displays.</summary>
    public Action<MigrationInfo>? Progress { get; init; }
}
