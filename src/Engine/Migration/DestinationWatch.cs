using System.Net.Sockets;
using System.Text;

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
/// </remarks>
internal sealed class DestinationWatch : IDisposable
{
    private readonly Socket? _socket;
    private readonly TimeProvider _time;
    private readonly CancellationTokenRegistration _abort;

    /// <summary>Watches <paramref name="output"/> if it is a connection; any other stream is not watched.</summary>
    public DestinationWatch(Stream output, TimeProvider time, CancellationToken cancellationToken)
    {
        _time = time;
        _socket = (output as NetworkStream)?.Socket;
        if (_socket is not null)
        {
            // Blocking socket calls do not observe a token: shutting the socket down is what wakes them.
            _abort = cancellationToken.UnsafeRegister(static s => Abort((Socket)s!), _socket);
        }
    }

    /// <summary>Throws <see cref="MigrationException"/> if the destination has closed, reset, or written to the connection.</summary>
    public void ThrowIfDestinationSpoke()
    {
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

        bool readable = _socket.Poll(delay, SelectMode.SelectRead);
        cancellationToken.ThrowIfCancellationRequested(); // a cancel shut the socket down, which made it readable
        if (readable)
        {
            ThrowSpoke(_socket);
        }
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

        int end = Array.IndexOf(buffer, (byte)'\n', 0, read);
        string line = Encoding.UTF8.GetString(buffer, 0, end >= 0 ? end : read);
        MigrationReply.ParseChecksums(line); // an error line throws with the destination's reason
        throw new MigrationException($"the destination answered before the stream ended: {(line.Length <= 200 ? line : line[..200] + "…")}");
    }
}
