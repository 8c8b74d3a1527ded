namespace Engine.Fuzz;

/// <summary>How a target handled an input it did not crash on.</summary>
internal enum FuzzOutcome
{
    /// <summary>The input was valid and fully processed.</summary>
    Accepted,

    /// <summary>The input was rejected the documented way (a <c>MigrationStreamException</c>, a non-Ok decode status).</summary>
    Rejected,
}
