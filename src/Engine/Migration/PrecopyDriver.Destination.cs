using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using Engine.Transport;

namespace Engine.Migration;

/// <summary>
/// The source's eye on its connection while it sends: notices at once when the destination closes, resets, or says why
/// it gave up, and aborts the connection when the migration is cancelled so that no blocked send or read outlives it.
/// </summary>
/// <remarks>
/// <para>
/// Design: the destination never speaks before the stream's end (<see cref="MigrationReply"/>), except to say that it
/// failed, and then it closes. So any readable event on the source's socket before the end (bytes, end of stream, a
/// reset) means the migration is over, and the socket itself is the signal: <see cref="ThrowIfDestinationSpoke"/> asks
/// it without waiting (one <c>poll</c> call, no allocation), and <see cref="Sleep"/> waits out the rate limit's window
/// inside <c>poll</c>, which the kernel ends as soon as the destination's FIN, RST or error line arrives. A dropped
/// connection is therefore seen within one iteration of sending (at most <see cref="SourceMigration.MaxIterationMs"/>)
/// or at once while waiting, instead of at the next write that happens to fail; a write into a connection the peer reset
/// fails in the kernel at once too.
/// </para>
/// <para>
/// Only the migration thread calls the methods; the cancellation callback (another thread) only shuts the socket down,
/// which wakes any blocked send, receive or poll on it.
/// </para>
/// <para>
/// Over TLS the socket cannot be read beside the TLS stream, and it also becomes readable for TLS's own records (a TLS 1.3
/// server's session tickets), so the watch keeps one read of the TLS stream pending instead (started after the handshake,
/// completed by the destination's first application bytes, its close, its alert or a reset) and asks whether it has
/// completed. That read's bytes are the start of the destination's reply (<see cref="ReplyStream"/>).
/// </para>
/// </remarks>
internal sealed class DestinationWatch : IDisposable
{
    private readonly Socket? _socket;
    private readonly TimeProvider _time;
    private readonly CancellationTokenRegistration _abort;
    private readonly SslStream? _tls;
    private byte[]? _tlsBuffer;
    private Task<int>? _tlsRead;

    /// <summary>Watches <paramref name="output"/> if it is a connection; any other stream is not watched.</summary>
    public DestinationWatch(Stream output, TimeProvider time, CancellationToken cancellationToken)
    {
        _time = time;
        _socket = TlsTransport.GetNetworkStream(output)?.Socket;
        _tls = output as SslStream;
        if (_socket is not null)
        {
            // Blocking socket calls do not observe a token: shutting the socket down is what wakes them.
            _abort = cancellationToken.UnsafeRegister(static s => Abort((Socket)s!), _socket);
        }
    }

    /// <summary>Throws <see cref="MigrationException"/> if the destination has closed, reset, or written to the connection.</summary>
    public void ThrowIfDestinationSpoke()
    {
        if (_tls is not null)
        {
            if (TlsRead().IsCompleted)
            {
                ThrowSpokeTls();
            }

            return;
        }

        if (_socket is not null && _socket.Poll(0, SelectMode.SelectRead))
        {
            ThrowSpoke(_socket);
        }
    }

    /// <summary>
    /// Waits <paramref name="delay"/>; on a connection, returns early with <see cref="MigrationException"/> when the
    /// destination closes, resets or writes, and with <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    public void Sleep(TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        if (_socket is null)
        {
            // One wait per rate-limit window, not per page; the time provider lets tests drive it.
            Task.Delay(delay, _time, cancellationToken).GetAwaiter().GetResult();
            return;
        }

        if (_tls is not null)
        {
            bool spoke = ((IAsyncResult)TlsRead()).AsyncWaitHandle.WaitOne(delay);
            cancellationToken.ThrowIfCancellationRequested();
            if (spoke)
            {
                ThrowSpokeTls();
            }

            return;
        }

        bool readable = _socket.Poll(delay, SelectMode.SelectRead);
        cancellationToken.ThrowIfCancellationRequested(); // a cancel shut the socket down, which made it readable
        if (readable)
        {
            ThrowSpoke(_socket);
        }
    }

    /// <summary>
    /// The stream the destination's reply is read from after the source ended its sending side: <paramref name="output"/>
    /// itself, or over TLS the bytes of the pending read (waited for up to <paramref name="timeout"/>) followed by the rest.
    /// </summary>
    public Stream ReplyStream(Stream output, TimeSpan timeout)
    {
        if (_tls is null)
        {
            return output;
        }

        Task<int> read = TlsRead();
        if (!((IAsyncResult)read).AsyncWaitHandle.WaitOne(timeout))
        {
            throw new MigrationException($"no reply from the destination within {timeout.TotalSeconds:0.#} s after the stream's end");
        }

        if (!read.IsCompletedSuccessfully)
        {
            throw new MigrationException($"connection failed while the source waited for the destination's confirmation: {TlsTransport.DescribeFailure(read.Exception?.InnerException ?? read.Exception!)}", read.Exception?.InnerException);
        }

        if (read.Result == 0)
        {
            ThrowSpokeTls(); // closed before any reply: says so, with what a TLS destination means by it
        }

        return new PrefixedReadStream(_tlsBuffer.AsMemory(0, read.Result), output);
    }

    /// <summary>
    /// After a send failed: the destination's reason when it refused or closed (its error line; over TLS also its close or
    /// alert), waiting up to <paramref name="wait"/> for it; null when it says nothing.
    /// </summary>
    public string? ExplainFailure(TimeSpan wait)
    {
        try
        {
            if (_tls is null)
            {
                // A plain connection: a destination that gave up wrote its reason before closing, and the send that
                // failed (broken pipe) raced it; the line is usually still in the receive buffer.
                if (_socket is not null && _socket.Poll(wait, SelectMode.SelectRead))
                {
                    ThrowSpoke(_socket);
                }

                return null;
            }

            // The pending read starts here if the failure came before the first check (a multifd channel that failed while
            // the channels were still being set up).
            if (!((IAsyncResult)TlsRead()).AsyncWaitHandle.WaitOne(wait))
            {
                return null;
            }

            ThrowSpokeTls();
        }
        catch (MigrationException e)
        {
            return e.Message;
        }

        return null;
    }

    /// <summary>Stops watching for cancellation.</summary>
    public void Dispose() => _abort.Dispose();

    private static void Abort(Socket socket)
    {
        try
        {
            socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // Already closed: nothing is blocked on it.
        }
    }

    private Task<int> TlsRead()
    {
        // One read for the whole migration; its buffer is the start of the reply.
        return _tlsRead ??= _tls!.ReadAsync(_tlsBuffer = new byte[4096]).AsTask();
    }

    private void ThrowSpokeTls()
    {
        Task<int> read = _tlsRead!;
        if (!read.IsCompletedSuccessfully)
        {
            Exception failure = read.Exception?.InnerException ?? (Exception?)read.Exception ?? new IOException("the read was cancelled");
            throw new MigrationException($"connection failed: {TlsTransport.DescribeFailure(failure)}", failure);
        }

        if (read.Result == 0)
        {
            throw new MigrationException("connection failed: the destination closed the TLS connection before the migration ended (a TLS destination that refuses this source's certificate after the handshake does this: not from its CA, expired, or not in its tls-authz; the destination's log says why)");
        }

        ThrowSpokeLine(_tlsBuffer!, read.Result);
    }

    private static void ThrowSpoke(Socket socket)
    {
        // Readable: the receive below returns at once (bytes, 0 for the end of stream, or the reset's error).
        byte[] buffer = new byte[4096];
        int read;
        try
        {
            read = socket.Receive(buffer);
        }
        catch (SocketException e)
        {
            throw new MigrationException($"connection failed: the destination dropped the connection: {e.Message} ({e.SocketErrorCode})", e);
        }

        if (read == 0)
        {
            throw new MigrationException("connection failed: the destination closed the connection before the migration ended");
        }

        ThrowSpokeLine(buffer, read);
    }

    private static void ThrowSpokeLine(byte[] buffer, int read)
    {
        int end = Array.IndexOf(buffer, (byte)'\n', 0, read);
        string line = Encoding.UTF8.GetString(buffer, 0, end >= 0 ? end : read);
        MigrationReply.ParseChecksums(line); // an error line throws with the destination's reason
        throw new MigrationException($"the destination answered before the stream ended: {(line.Length <= 200 ? line : line[..200] + "…")}");
    }
}
