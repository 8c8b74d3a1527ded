using Xunit;

namespace Engine.Tests.Support;

/// <summary>
/// The tests that start engine worker threads. They run alone (not in parallel with other collections): they load both
/// cores, and they assert after each test that no engine thread of any owner is left running.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EngineThreadsCollection
{
    /// <summary>The collection's name.</summary>
    public const string Name = "Engine threads";
}
