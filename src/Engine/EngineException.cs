namespace Engine;

/// <summary>
/// The engine stopped because of a failure (a worker's codec failed, a page did not decompress, an invariant broke).
/// The engine that threw it has stopped: its threads are joined and its buffers freed; create a new one to retry.
/// </summary>
public class EngineException : Exception
{
    /// <summary>Creates the exception.</summary>
    public EngineException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception with the failure that caused it.</summary>
    public EngineException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }
}
