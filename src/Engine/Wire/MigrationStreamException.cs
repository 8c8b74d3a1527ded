namespace Engine.Wire;

/// <summary>
/// A migration stream is malformed, truncated, unsupported or stalled. <see cref="Offset"/> is the byte offset (from the
/// start of the stream) of the field that is wrong; the message says what was expected there and what was found.
/// </summary>
internal sealed class MigrationStreamException : EngineException
{
    /// <summary>Creates an exception for a problem at <paramref name="offset"/>.</summary>
    public MigrationStreamException(long offset, string message)
        : base(EngineErrorKind.Stream, $"migration stream, byte offset {offset} (0x{offset:X}): {message}", offset)
    {
        Offset = offset;
        Detail = message;
    }

    /// <summary>Creates an exception for a problem at <paramref name="offset"/>, caused by <paramref name="inner"/>.</summary>
    public MigrationStreamException(long offset, string message, Exception inner)
        : base(EngineErrorKind.Stream, $"migration stream, byte offset {offset} (0x{offset:X}): {message}", offset, inner)
    {
        Offset = offset;
        Detail = message;
    }

    /// <summary>The byte offset of the offending field, from the start of the stream.</summary>
    public long Offset { get; }

    /// <summary>The message without the offset prefix.</summary>
    public string Detail { get; }
}
