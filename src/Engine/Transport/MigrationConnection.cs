using System.Net.Security;
using System.Net.Sockets;

namespace Engine.Transport;

/// <summary>
/// One migration connection, plain TCP or TLS over it, as <see cref="TcpTransport"/>, <see cref="TlsTransport"/> and the
/// engine command's listener (<c>Engine.Tools.MigrationListener</c>) make them: the stream to read and write, the socket
/// under it, the peer's name, quiet shutdowns, and the watch for a peer that closes, resets or speaks when it should be
/// silent. Every part of a migration that needs more of a connection than its stream (timeouts, cancellation, ending a
/// side, watching the peer) goes through here.
/// </summary>
/// <remarks>
/// <para>
/// Design: one owner thread reads and writes <see cref="Stream"/> and runs the watch (<see cref="WaitForPeer"/>, then
/// <see cref="ReadPeer"/>; a relay runs it on a thread of its own beside the thread that writes). Any other thread may call
/// <see cref="Shutdown"/> (a cancellation, a failed multifd channel): a socket shutdown is the one thing that wakes a
/// blocked send, receive or poll, and a shutdown of a socket already closed is ignored.
/// </para>
/// <para>
/// The watch: on a plain connection it polls the socket (the peer's bytes, its FIN or its reset make it readable) and reads
/// what is there. Over TLS the socket cannot be read beside the TLS stream, and it also becomes readable for TLS's own
/// records (a TLS 1.3 server's session tickets), so the watch keeps one read of the TLS stream pending instead (started at
/// the first wait, completed by the peer's first application bytes, its close, its alert or a reset; an
/// <see cref="SslStream"/> allows that one read beside the owner's writes). Either way the bytes the watch read are the
/// start of what the peer said (<see cref="PeerSignal.Bytes"/>).
/// </para>
/// </remarks>
internal sealed class MigrationConnection
{
    /// <summary>How many bytes of what a watched peer says are read at once.</summary>
    private const int WatchBufferLength = 4096;

    private readonly Stream _stream;
    private readonly NetworkStream _network;
    private readonly SslStream? _tls;
    private byte[]? _watchBuffer;
    private Task<int>? _tlsRead;
    private Exception? _watchFailure;

    private MigrationConnection(Stream stream, NetworkStream network)
    {
        _stream = stream;
        _network = network;
        _tls = stream as SslStream;
        PeerName = EndPointName(network.Socket) ?? "(unknown peer)";
    }

    /// <summary>What the migration reads and writes: the TLS stream over TLS, else the TCP stream.</summary>
    public Stream Stream => _stream;

    /// <summary>The TCP socket under the connection.</summary>
    public Socket Socket => _network.Socket;

    /// <summary>True when the connection runs TLS (its socket then carries TLS records, not the peer's bytes).</summary>
    public bool IsTls => _tls is not null;

    /// <summary>The peer's address and port (for example <c>192.0.2.7:4444</c>), or <c>(unknown peer)</c>; read when the connection was wrapped.</summary>
    public string PeerName { get; }

    /// <summary>
    /// The connection under <paramref name="stream"/>: a <see cref="NetworkStream"/>, or a TLS stream made by
    /// <see cref="TlsTransport"/> over one. Null for any other stream (a file, a pipe, a memory stream).
    /// </summary>
    public static MigrationConnection? Of(Stream stream)
    {
        ArgumentNullException.ThrowIfNull(stream);
        return Under(stream) is NetworkStream network ? new MigrationConnection(stream, network) : null;
    }

    /// <summary>A socket's peer as text (<c>ADDRESS:PORT</c>), or null when it is not known (closed, never connected).</summary>
    public static string? EndPointName(Socket socket)
    {
        try
        {
            return socket.RemoteEndPoint?.ToString();
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return null;
        }
    }

    /// <summary>A timeout as a socket takes it: whole milliseconds, at least 1, infinite and huge values capped.</summary>
    public static int SocketTimeout(TimeSpan timeout) => (int)Math.Clamp(timeout.TotalMilliseconds, 1, int.MaxValue);

    /// <summary>Bounds each blocking receive: a silent peer ends in an I/O error after <paramref name="timeout"/>.</summary>
    public void SetReceiveTimeout(TimeSpan timeout) => Socket.ReceiveTimeout = SocketTimeout(timeout);

    /// <summary>Bounds each blocking send: a peer that stops reading ends in an I/O error after <paramref name="timeout"/>.</summary>
    public void SetSendTimeout(TimeSpan timeout) => Socket.SendTimeout = SocketTimeout(timeout);

    /// <summary>
    /// Shuts the socket down (<paramref name="how"/>), which wakes any send, receive or poll blocked on that side; a socket
    /// already closed is left alone. Safe from any thread. Over TLS nothing is said to the peer (see <see cref="ShutdownSend"/>).
    /// </summary>
    public void Shutdown(SocketShutdown how = SocketShutdown.Both)
    {
        try
        {
            Socket.Shutdown(how);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Closed already: nothing is blocked on it.
        }
    }

    /// <summary>
    /// Shuts <paramref name="how"/> down when <paramref name="cancellationToken"/> is cancelled: blocking socket calls do not
    /// observe a token, the shutdown is what ends them. Dispose the registration when the work is done.
    /// </summary>
    public CancellationTokenRegistration ShutdownWhenCancelled(CancellationToken cancellationToken, SocketShutdown how = SocketShutdown.Both) => how switch
    {
        SocketShutdown.Receive => cancellationToken.UnsafeRegister(static s => ((MigrationConnection)s!).Shutdown(SocketShutdown.Receive), this),
        SocketShutdown.Send => cancellationToken.UnsafeRegister(static s => ((MigrationConnection)s!).Shutdown(SocketShutdown.Send), this),
        _ => cancellationToken.UnsafeRegister(static s => ((MigrationConnection)s!).Shutdown(), this),
    };

    /// <summary>
    /// Ends the sending side: over TLS a close_notify (within <paramref name="timeout"/>, default
    /// <see cref="TcpTransport.DefaultIoTimeout"/>), then the TCP FIN. The peer's answer can still be read. Throws
    /// <see cref="IOException"/> or <see cref="SocketException"/> if the connection is gone.
    /// </summary>
    public void ShutdownSend(TimeSpan? timeout = null)
    {
        if (_tls is not null)
        {
            SendCloseNotify(_tls, timeout ?? TcpTransport.DefaultIoTimeout);
        }

        Socket.Shutdown(SocketShutdown.Send);
    }

    /// <summary>
    /// <see cref="ShutdownSend"/> for an end that has nothing more to say: a connection already gone is not an error (the
    /// migration's outcome is known elsewhere). False when it was gone.
    /// </summary>
    public bool TryShutdownSend(TimeSpan? timeout = null)
    {
        try
        {
            ShutdownSend(timeout);
            return true;
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException or InvalidOperationException)
        {
            return false;
        }
    }

    /// <summary>
    /// The watch: waits up to <paramref name="wait"/> (zero: only asks) for the peer to send, close, reset or fail the
    /// connection; true when it did, and <see cref="ReadPeer"/> then says what. Also true once the socket was shut down
    /// (a cancellation): the caller checks its token first.
    /// </summary>
    public bool WaitForPeer(TimeSpan wait)
    {
        if (_watchFailure is not null)
        {
            return true;
        }

        if (_tls is not null)
        {
            Task<int> read = TlsRead();
            return read.IsCompleted || (wait > TimeSpan.Zero && ((IAsyncResult)read).AsyncWaitHandle.WaitOne(wait));
        }

        try
        {
            return Socket.Poll(wait, SelectMode.SelectRead);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            _watchFailure = e;
            return true;
        }
    }

    /// <summary>
    /// What the peer did, after <see cref="WaitForPeer"/> returned true: the bytes it sent (the start of them: at most
    /// 4 KiB), its end, or the failure. Over TLS the same answer every time; on a plain connection each call reads afresh.
    /// </summary>
    public PeerSignal ReadPeer()
    {
        if (_watchFailure is not null)
        {
            return new PeerSignal(default, _watchFailure);
        }

        if (_tls is not null)
        {
            Task<int> read = TlsRead();
            if (!read.IsCompletedSuccessfully)
            {
                Exception failure = read.Exception?.InnerException ?? (Exception?)read.Exception ?? new IOException("the read was cancelled");
                return new PeerSignal(default, failure);
            }

            return new PeerSignal(_watchBuffer.AsMemory(0, read.Result), null);
        }

        // Readable: the receive returns at once (bytes, 0 for the end of stream, or the reset's error).
        _watchBuffer ??= new byte[WatchBufferLength];
        try
        {
            int read = Socket.Receive(_watchBuffer);
            return new PeerSignal(_watchBuffer.AsMemory(0, read), null);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return new PeerSignal(default, e);
        }
    }

    /// <summary>A TLS close_notify within <paramref name="timeout"/>; throws <see cref="IOException"/> when it could not be sent in time.</summary>
    internal static void SendCloseNotify(SslStream tls, TimeSpan timeout)
    {
        Task shutdown = tls.ShutdownAsync();
        if (!shutdown.Wait(timeout))
        {
            throw new IOException("the TLS close_notify could not be sent in time");
        }
    }

    /// <summary>The socket's stream under a plain or TLS connection made here; null for other streams.</summary>
    private static NetworkStream? Under(Stream stream) => stream switch
    {
        NetworkStream network => network,
        MigrationTlsStream tls => Under(tls.Transport),
        HandshakeRecorder recorder => Under(recorder.Inner),
        _ => null,
    };

    private Task<int> TlsRead()
    {
        if (_tlsRead is null)
        {
            // One read for the connection's life; its bytes are the start of what the peer said.
            _watchBuffer = new byte[WatchBufferLength];
            try
            {
                _tlsRead = _tls!.ReadAsync(_watchBuffer).AsTask();
            }
            catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
            {
                _tlsRead = Task.FromException<int>(e);
            }

            // Observed here: the read may fail after the owner stopped looking (the connection closed at the end).
            _ = _tlsRead.ContinueWith(static t => _ = t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }

        return _tlsRead;
    }
}
