namespace Engine.Migration;

/// <summary>A migration failed: the connection dropped, the peer stopped answering, the stream was bad, or the copy differs.</summary>
/// <remarks>Its <see cref="EngineException.StreamOffset"/> is the offset of the bad stream byte, when a stream was the cause.</remarks>
internal sealed class MigrationException : EngineException
{
    /// <summary>Creates the exception.</summary>
    public MigrationException(string message, Exception? inner = null)
        : base(EngineErrorKind.Migration, message, FindOffset(inner), inner)
    {
    }

    // A migration that failed on a bad stream keeps the stream's offset.
    private static long? FindOffset(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
        {
            if (e is EngineException { StreamOffset: long offset })
            {
                return offset;
            }
        }

        return null;
    }
}
