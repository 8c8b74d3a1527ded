namespace Engine.Diagnostics;

/// <summary>How a migration ended, as the duration histogram's <c>engine.migration.status</c> attribute says it.</summary>
internal enum MigrationOutcome
{
    /// <summary>It failed, or had not ended when it was taken off the list: <c>failed</c>.</summary>
    Failed = 0,

    /// <summary>It completed: <c>completed</c>.</summary>
    Completed,

    /// <summary>It was cancelled: <c>cancelled</c>.</summary>
    Cancelled,
}
