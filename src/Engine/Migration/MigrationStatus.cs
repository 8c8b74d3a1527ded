namespace Engine.Migration;

/// <summary>The state of a migration, as <c>query-migrate</c> reports it.</summary>
public enum MigrationStatus
{
    /// <summary>Not started.</summary>
    None = 0,

    /// <summary>Setting up: the stream header and the RAM block list are going out.</summary>
    Setup,

    /// <summary>Iterating: sending dirty pages while the guest runs.</summary>
    Active,

    /// <summary>The guest is paused and the last dirty pages are going out (QEMU's <c>device</c> phase).</summary>
    Device,

    /// <summary>The destination holds an exact copy.</summary>
    Completed,

    /// <summary>Failed; the source guest runs on untouched.</summary>
    Failed,

    /// <summary>Cancelled; the source guest runs on untouched.</summary>
    Cancelled,
}
