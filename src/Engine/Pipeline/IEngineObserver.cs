namespace Engine.Pipeline;

/// <summary>
/// Hears when a compression engine starts and when it is disposed: how the live metrics (Diagnostics, the floor above)
/// learn of every engine, a host's own included, without an engine knowing the meter.
/// </summary>
internal interface IEngineObserver
{
    /// <summary>The engine's workers are running (called from its constructor).</summary>
    void Started(CompressionEngine engine);

    /// <summary>The engine was disposed; called on every Dispose, so the observer takes a second call as nothing.</summary>
    void Stopped(CompressionEngine engine);
}
