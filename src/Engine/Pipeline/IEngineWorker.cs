namespace Engine.Pipeline;

/// <summary>What an engine needs of its workers to stop them: join the thread, then free the codec and buffers.</summary>
internal interface IEngineWorker
{
    /// <summary>Waits for the worker's thread to end (it must already have been told to stop).</summary>
    void Join();

    /// <summary>Frees the worker's codec and native buffers; only after <see cref="Join"/>.</summary>
    void Free();
}
