namespace Engine.Multifd;

/// <summary>
/// A multifd channel connection carried something wrong (or stopped): <see cref="Channel"/> names it (-1 for a connection
/// whose hello was not yet read) and <see cref="EngineException.StreamOffset"/> is the byte offset in that connection, from
/// its first byte (the hello).
/// </summary>
internal sealed class MultifdChannelException : EngineException
{
    /// <summary>Creates the exception.</summary>
    public MultifdChannelException(int channel, long offset, string message, Exception? inner = null)
        : base(EngineErrorKind.Stream, $"multifd channel {(channel < 0 ? "?" : channel.ToString(System.Globalization.CultureInfo.InvariantCulture))}, byte offset {offset} (0x{offset:X}): {message}", offset, inner)
    {
        Channel = channel;
        Detail = message;
    }

    /// <summary>The channel id, or -1 before its hello named it.</summary>
    public int Channel { get; }

    /// <summary>The message without the channel and offset.</summary>
    public string Detail { get; }
}
