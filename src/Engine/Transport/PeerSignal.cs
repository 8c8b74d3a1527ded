namespace Engine.Transport;

/// <summary>
/// What a watched peer did (<see cref="MigrationConnection.ReadPeer"/>): sent <see cref="Bytes"/>, ended the connection
/// (<see cref="Ended"/>), or failed it (<see cref="Failure"/>: a reset, a TLS alert, a closed socket).
/// </summary>
internal readonly record struct PeerSignal(ReadOnlyMemory<byte> Bytes, Exception? Failure)
{
    /// <summary>True when the peer closed the connection cleanly (its FIN, or over TLS its close) without sending.</summary>
    public bool Ended => Failure is null && Bytes.IsEmpty;
}
