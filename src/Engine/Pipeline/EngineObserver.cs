namespace Engine.Pipeline;

/// <summary>The one <see cref="IEngineObserver"/> of this process, told of every <see cref="CompressionEngine"/>.</summary>
/// <remarks>
/// Design: set once by the library's module initializer (<c>Diagnostics/EngineMeterObserver</c>) before any engine can
/// exist, then only read, from whichever thread creates or disposes an engine; the module initializer runs before any
/// other code of the assembly, so no engine sees it unset.
/// </remarks>
internal static class EngineObserver
{
    /// <summary>The observer, or null when none is installed (then engines run unobserved).</summary>
    public static IEngineObserver? Current { get; set; }
}
