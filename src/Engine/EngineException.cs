namespace Engine;

/// <summary>
/// The root of every failure the library reports (argument errors stay <see cref="ArgumentException"/>s, calls out of
/// order on an engine <see cref="InvalidOperationException"/>s): a malformed stream, a page that did not decompress, a
/// migration that failed, a peer that was refused, a native library that did not load. <see cref="Kind"/> says which;
/// <see cref="StreamOffset"/> says where in a stream, when a stream is involved. An engine or migration that threw
/// it has stopped: its threads are joined and its buffers freed; create a new one to retry.
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

    /// <summary>Creates the exception with its kind, the stream offset it concerns (if any) and its cause.</summary>
    public EngineException(EngineErrorKind kind, string message, long? streamOffset = null, Exception? innerException = null)
        : base(message, innerException)
    {
        Kind = kind;
        StreamOffset = streamOffset;
    }

    /// <summary>What kind of failure this is.</summary>
    public EngineErrorKind Kind { get; init; }

    /// <summary>The byte offset in the migration stream the failure concerns, when a stream is involved.</summary>
    public long? StreamOffset { get; init; }
}
