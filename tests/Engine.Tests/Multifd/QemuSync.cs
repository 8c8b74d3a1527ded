namespace Engine.Tests.Multifd;

/// <summary>Where a QEMU-shaped multifd source (<see cref="QemuShapedMultifd"/>) puts its SYNC barriers (qemu-wire-7.2-to-10.0.md §3.4).</summary>
public enum QemuSync
{
    /// <summary>QEMU 7.2, or a newer QEMU on a machine type up to 8.0: a SYNC on every channel before each EOS.</summary>
    PerSection,

    /// <summary>QEMU 8.1 to 9.0 on their own machine types: per round, and complete ends with SYNCs and a MULTIFD_FLUSH.</summary>
    PerRound81,

    /// <summary>QEMU 9.1 and 9.2: per round, and complete sends a SYNC on every channel that no MULTIFD_FLUSH matches.</summary>
    PerRound91,

    /// <summary>QEMU 10.0: per round, and no SYNC at complete.</summary>
    PerRound100,
}
