using System.Net;
using System.Net.Sockets;
using Engine.Transport;

namespace Engine.Tools;

/// <summary>
/// A destination's listening socket: accepts the connections of one migration (plain, or TLS through
/// <see cref="TlsTransport.AuthenticateAsServer"/>), then, once <see cref="RefuseOthers"/> is called, answers every further
/// connection with the reason it is refused, so that one listener serves one migration at a time.
/// </summary>
/// <remarks>
/// <para>
/// Use: <c>Accept</c> the main connection (and, for multifd, each channel); a peer refused before its migration started
/// (plaintext to a TLS listener, a bad certificate, a stalled handshake) throws <see cref="EngineException"/> of kind
/// <see cref="EngineErrorKind.Security"/> and the listener stays open, so the caller may report it and accept again. Then
/// <c>RefuseOthers("...")</c> and run the migration; <c>Dispose</c> closes the listener.
/// </para>
/// <para>
/// Design: the caller's thread accepts the migration's connections. <see cref="RefuseOthers"/> hands the listening socket to
/// one background thread that accepts and refuses, one connection at a time, each bounded by
/// <see cref="RefusalTimeout"/>: a plain peer gets one JSON error line (<c>MigrationReply</c>'s format, which an Engine
/// source reports as the reason) and the close; a TLS peer gets the handshake (with the usual verification) and then the
/// same line inside TLS. So a flood of connections costs one thread and bounded time each, never memory or a second
/// migration. <see cref="Dispose"/> cancels the accept, aborts the connection being refused, and joins the thread.
/// </para>
/// </remarks>
public sealed class MigrationListener : IDisposable
{
    /// <summary>The longest a refused connection is attended to.</summary>
    public static readonly TimeSpan RefusalTimeout = TimeSpan.FromSeconds(3);

    private readonly TcpListener _listener;
    private readonly TlsOptions? _tls;
    private readonly TimeSpan _ioTimeout;
    private readonly Action<string>? _refused;
    private readonly CancellationTokenSource _stop = new();
    private Thread? _refuser;
    private Socket? _current; // the connection the refuser attends to; Dispose aborts it
    private bool _disposed;

    /// <summary>
    /// Listens on <paramref name="host"/>:<paramref name="port"/> (port 0: any free port). With <paramref name="tls"/> (server
    /// credentials), every connection must start TLS. <paramref name="refused"/> is told of each connection refused by
    /// <see cref="RefuseOthers"/> (on the refusing thread).
    /// </summary>
    public MigrationListener(string host, int port, TlsOptions? tls, TimeSpan ioTimeout, Action<string>? refused = null)
    {
        if (tls is not null && tls.Credentials.Role != TlsRole.Server)
        {
            throw new ArgumentException("a listener needs server credentials (server-cert.pem, server-key.pem)", nameof(tls));
        }

        _tls = tls;
        _ioTimeout = ioTimeout;
        _refused = refused;
        _listener = TcpTransport.Listen(host, port);
    }

    /// <summary>The address and port listened on.</summary>
    public IPEndPoint LocalEndpoint => (IPEndPoint)_listener.LocalEndpoint;

    /// <summary>True when every connection must start TLS.</summary>
    public bool IsTls => _tls is not null;

    /// <summary>
    /// Accepts the next connection: a configured <see cref="NetworkStream"/>, or the authenticated TLS stream over it. A peer
    /// refused by TLS throws <see cref="EngineException"/> (<see cref="EngineErrorKind.Security"/>); the listener stays usable.
    /// </summary>
    public Stream Accept(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_refuser is not null)
        {
            throw new InvalidOperationException("the listener refuses connections now (RefuseOthers was called)");
        }

        return TlsTransport.Accept(_listener, _tls, _ioTimeout, cancellationToken);
    }

    /// <summary>From now on, answers every connection with <paramref name="reason"/> and closes it (until disposed).</summary>
    public void RefuseOthers(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_refuser is not null)
        {
            return;
        }

        _refuser = new Thread(() => RefuseLoop(reason)) { IsBackground = true, Name = "engine listener refuser" };
        _refuser.Start();
    }

    /// <summary>Stops listening; joins the refusing thread.</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _stop.Cancel();
        Interlocked.Exchange(ref _current, null)?.Dispose(); // wakes a refusal in progress
        _listener.Stop();
        _refuser?.Join();
        _listener.Dispose();
        _stop.Dispose();
    }

    private void RefuseLoop(string reason)
    {
        TlsOptions? tls = _tls is null ? null : _tls with { HandshakeTimeout = RefusalTimeout };
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = _listener.AcceptSocketAsync(_stop.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException or InvalidOperationException)
            {
                return; // disposed
            }

            // Published for Dispose: it aborts the refusal in progress. (Full fence: either Dispose sees it, or we see _stop.)
            Interlocked.Exchange(ref _current, socket);
            string peer = MigrationConnection.EndPointName(socket) ?? "(unknown peer)";
            string told = reason;
            try
            {
                socket.SendTimeout = socket.ReceiveTimeout = MigrationConnection.SocketTimeout(RefusalTimeout);
                var connection = new NetworkStream(socket, ownsSocket: true);
                Stream channel = connection;
                if (tls is not null)
                {
                    try
                    {
                        channel = TlsTransport.AuthenticateAsServer(connection, tls, _stop.Token);
                    }
                    catch (EngineException e)
                    {
                        told = $"{reason}; besides, {e.Message}";
                        channel = Stream.Null;
                    }
                }

                TlsTransport.TryWriteErrorLine(channel, reason);
                if (channel != Stream.Null)
                {
                    // End our side and read what the peer still sends until it goes: closing with its data unread would
                    // reset the connection, and a reset can discard the line before the peer reads it.
                    TlsTransport.ShutdownSend(channel, RefusalTimeout);
                    Drain(channel);
                }

                channel.Dispose();
                connection.Dispose();
            }
            catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or OperationCanceledException or InvalidOperationException)
            {
                // The peer went away, or the listener is closing: it is refused either way.
            }
            finally
            {
                Interlocked.CompareExchange(ref _current, null, socket)?.Dispose();
            }

            if (!_stop.IsCancellationRequested)
            {
                _refused?.Invoke($"refused a connection from {peer}: {told}");
            }
        }
    }

    private static void Drain(Stream channel)
    {
        byte[] sink = new byte[16 << 10];
        long deadline = Environment.TickCount64 + (long)RefusalTimeout.TotalMilliseconds;
        while (Environment.TickCount64 < deadline && channel.Read(sink) > 0)
        {
        }
    }
}
