namespace Engine.Migration;

/// <summary>A migration failed: the connection dropped, the peer stopped answering, the stream was bad, or the copy differs.</summary>
/// <remarks>An <see cref="IOException"/> so that command-line tools report it as a failure, not a crash.</remarks>
public sealed class MigrationException : IOException
{
    /// <summary>Creates the exception.</summary>
    public MigrationException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
