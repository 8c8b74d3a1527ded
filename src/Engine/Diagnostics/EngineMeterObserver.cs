using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Engine.Pipeline;

namespace Engine.Diagnostics;

/// <summary>
/// Puts every compression engine on <see cref="EngineMetrics"/>' list while it runs, through Pipeline's
/// <see cref="IEngineObserver"/> (Pipeline sits below Diagnostics and does not know the meter).
/// </summary>
internal sealed class EngineMeterObserver : IEngineObserver
{
    /// <summary>
    /// Installs the observer when the library loads. The meter itself is still made only when the first engine or
    /// migration starts: this touches nothing of <see cref="EngineMetrics"/>.
    /// </summary>
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "The library's own wiring between its floors: an engine a host drives directly must be counted, as before, without Pipeline importing Diagnostics.")]
    internal static void Install() => EngineObserver.Current = new EngineMeterObserver();

    /// <inheritdoc/>
    public void Started(CompressionEngine engine) => EngineMetrics.Track(engine);

    /// <inheritdoc/>
    public void Stopped(CompressionEngine engine) => EngineMetrics.Untrack(engine);
}
