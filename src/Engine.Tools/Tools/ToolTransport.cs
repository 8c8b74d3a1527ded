using System.Net.Sockets;
using Engine.Transport;

namespace Engine.Tools;

/// <summary>
/// The connections the <c>engine</c> command opens, as QEMU opens them: TCP with Engine's socket settings (connect timeout,
/// send and receive timeouts, 1 MiB buffers, no delay), then with <see cref="TlsOptions"/> the handshake at once. A host
/// opens its own sockets and calls <see cref="TlsTransport.AuthenticateAsClient"/> or
/// <see cref="TlsTransport.AuthenticateAsServer"/>; this is the library's transport, which stays internal to hosts,
/// passed on to the command.
/// </summary>
public static class ToolTransport
{
    /// <summary>The default timeout of one send or receive (30 s).</summary>
    public static readonly TimeSpan DefaultIoTimeout = TcpTransport.DefaultIoTimeout;

    /// <summary>
    /// Opens an outgoing migration connection: TCP to <paramref name="host"/>:<paramref name="port"/> within
    /// <paramref name="connectTimeout"/>, then with <paramref name="tls"/> (client credentials) the handshake, the server's
    /// certificate checked against <see cref="TlsOptions.Hostname"/> or <paramref name="host"/>.
    /// </summary>
    public static Stream Connect(string host, int port, TlsOptions? tls, TimeSpan connectTimeout, TimeSpan ioTimeout, CancellationToken cancellationToken = default)
        => TlsTransport.Connect(host, port, tls, connectTimeout, ioTimeout, cancellationToken);

    /// <summary>
    /// Accepts the next migration connection from <paramref name="listener"/>: TCP, then with <paramref name="tls"/> (server
    /// credentials) the handshake. A peer refused by TLS throws <see cref="EngineException"/>
    /// (<see cref="EngineErrorKind.Security"/>); the listener stays usable.
    /// </summary>
    public static Stream Accept(TcpListener listener, TlsOptions? tls, TimeSpan ioTimeout, CancellationToken cancellationToken = default)
        => TlsTransport.Accept(listener, tls, ioTimeout, cancellationToken);

    /// <summary>Starts listening on <paramref name="host"/>:<paramref name="port"/> with room for <paramref name="backlog"/> pending connections (multifd's channels connect at once).</summary>
    public static TcpListener Listen(string host, int port, int backlog) => TcpTransport.Listen(host, port, backlog);

    /// <summary>A connected pair over 127.0.0.1, (source end, destination end), for <c>engine demo</c>.</summary>
    public static (NetworkStream Source, NetworkStream Destination) CreateLoopbackPair(TimeSpan ioTimeout) => TcpTransport.CreateLoopbackPair(ioTimeout);
}
