using System.Net.Sockets;
using Engine.Migration;
using Engine.Transport;

namespace Engine.Relay;

/// <summary>
/// One side of a relay: passes reads or writes through and remembers how the peer behaved (ended, failed), so that an error
/// further up (a truncated stream, a failed write) can be reported as "which peer went away".
/// </summary>
/// <remarks>Used by the relay's one thread; <see cref="Abort"/> may come from the watch thread (it only shuts the socket down).</remarks>
internal sealed class PeerStream : SpanStream
{
    private readonly Stream _inner;
    private readonly string _name;

    public PeerStream(Stream inner, string name)
    {
        _inner = inner;
        _name = name;
        Connection = MigrationConnection.Of(inner);
    }

    /// <summary>The plain or TLS connection the peer is reached on; null for a file.</summary>
    public MigrationConnection? Connection { get; }

    /// <summary>True once a read returned the end of the stream.</summary>
    public bool Ended { get; private set; }

    /// <summary>The I/O error a read or write of this peer failed with, if any.</summary>
    public Exception? Failure { get; private set; }

    public long BytesRead { get; private set; }

    public long BytesWritten { get; private set; }

    public override bool CanRead => _inner.CanRead;

    public override bool CanWrite => _inner.CanWrite;

    public override long Position
    {
        get => BytesRead + BytesWritten;
        set => throw new NotSupportedException();
    }

    public override int Read(Span<byte> buffer)
    {
        int read;
        try
        {
            read = _inner.Read(buffer);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Failure ??= e;
            throw new MigrationException($"{_name}: reading failed after {BytesRead} bytes: {Describe(e)}", e);
        }

        if (read == 0)
        {
            Ended = true;
        }

        BytesRead += read;
        return read;
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        try
        {
            _inner.Write(buffer);
        }
        catch (Exception e) when (e is IOException or SocketException or ObjectDisposedException)
        {
            Failure ??= e;
            throw new MigrationException($"{_name}: writing failed after {BytesWritten} bytes (it died, closed the connection or stopped reading): {Describe(e)}", e);
        }

        BytesWritten += buffer.Length;
    }

    public override void Flush() => _inner.Flush();

    /// <summary>Shuts the connection down both ways (wakes any blocked read or write on it); nothing for a file.</summary>
    public void Abort() => Connection?.Shutdown();

    private static string Describe(Exception e)
    {
        for (Exception? inner = e; inner is not null; inner = inner.InnerException)
        {
            if (inner is SocketException socket)
            {
                return socket.SocketErrorCode switch
                {
                    SocketError.ConnectionReset => "connection reset",
                    SocketError.TimedOut or SocketError.WouldBlock => "timed out (a silent peer)",
                    SocketError.Shutdown => "connection shut down",
                    _ => socket.Message,
                };
            }
        }

        return e.Message;
    }
}
