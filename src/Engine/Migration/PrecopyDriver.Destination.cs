using System.Net.Sockets;
using System.Text;
using Engine.Transport;

namespace Engine.Migration;

/// <summary>
/// The source's eye on its connection while it sends: notices at once when the destination closes, resets, or says why
/// it gave up, through the connection's watch (<see cref="MigrationConnection.WaitForPeer"/>).
/// </summary>
/// <remarks>
/// <para>
/// The destination never speaks before the stream's end (<see cref="MigrationReply"/>), except to say that it failed, and
/// then it closes. So anything the watch sees before the end (bytes, end of stream, a reset, a TLS alert) means the
/// migration is over: <see cref="ThrowIfDestinationSpoke"/> asks without waiting (one <c>poll</c> call, no allocation), and
/// <see cref="SleepWatching"/> waits out the rate limit's window inside the watch, which ends as soon as the destination's
/// FIN, RST or error line arrives. A dropped connection is therefore seen within one iteration of sending (at most
/// <see cref="MaxIterationMs"/>) or at once while waiting, instead of at the next write that happens to fail; a write into
/// a connection the peer reset fails in the kernel at once too.
/// </para>
/// <para>
/// Only the migration thread watches; the cancellation (another thread) only shuts the socket down
/// (<see cref="MigrationConnection.ShutdownWhenCancelled"/>), which wakes any blocked send, receive or wait on it. Over TLS
/// the watch's pending read holds the start of the destination's reply (<see cref="ReplyStream"/>).
/// </para>
/// </remarks>
internal sealed partial class PrecopyDriver
{
    /// <summary>Throws <see cref="MigrationException"/> if the destination has closed, reset, or written to the connection.</summary>
    private static void ThrowIfDestinationSpoke(MigrationConnection? destination)
    {
        if (destination is not null && destination.WaitForPeer(TimeSpan.Zero))
        {
            throw Spoke(destination);
        }
    }

    /// <summary>
    /// Waits <paramref name="delay"/>; on a connection, returns early with <see cref="MigrationException"/> when the
    /// destination closes, resets or writes, and with <see cref="OperationCanceledException"/> when cancelled.
    /// </summary>
    private void SleepWatching(MigrationConnection? destination, TimeSpan delay, CancellationToken cancellationToken)
    {
        if (delay <= TimeSpan.Zero)
        {
            return;
        }

        if (destination is null)
        {
            // One wait per rate-limit window, not per page; the time provider lets tests drive it.
            Task.Delay(delay, _options.Time, cancellationToken).GetAwaiter().GetResult();
            return;
        }

        bool spoke = destination.WaitForPeer(delay);
        cancellationToken.ThrowIfCancellationRequested(); // a cancel shut the socket down, which woke the watch
        if (spoke)
        {
            throw Spoke(destination);
        }
    }

    /// <summary>
    /// The stream the destination's reply is read from after the source ended its sending side: the connection's stream,
    /// or over TLS the bytes of the watch's pending read (waited for up to <paramref name="timeout"/>) followed by the rest.
    /// </summary>
    private static Stream ReplyStream(MigrationConnection destination, TimeSpan timeout)
    {
        if (!destination.IsTls)
        {
            return destination.Stream;
        }

        if (!destination.WaitForPeer(timeout))
        {
            throw new MigrationException($"no reply from the destination within {timeout.TotalSeconds:0.#} s after the stream's end");
        }

        PeerSignal signal = destination.ReadPeer();
        if (signal.Failure is Exception failure)
        {
            throw new MigrationException($"connection failed while the source waited for the destination's confirmation: {TlsTransport.DescribeFailure(failure)}", failure);
        }

        if (signal.Ended)
        {
            throw Spoke(destination); // closed before any reply: says so, with what a TLS destination means by it
        }

        return new PrefixedReadStream(signal.Bytes, destination.Stream);
    }

    /// <summary>
    /// After a send failed: the destination's reason when it refused or closed (its error line; over TLS also its close or
    /// alert), waiting up to <paramref name="wait"/> for it; null when it says nothing.
    /// </summary>
    /// <remarks>
    /// On a plain connection a destination that gave up wrote its reason before closing, and the send that failed (broken
    /// pipe) raced it; the line is usually still in the receive buffer. Over TLS the watch's pending read starts here if the
    /// failure came before the first check (a multifd channel that failed while the channels were still being set up).
    /// </remarks>
    private static string? ExplainFailure(MigrationConnection? destination, TimeSpan wait) =>
        destination is not null && destination.WaitForPeer(wait) ? Spoke(destination).Message : null;

    /// <summary>What the destination did, once the watch saw it, as the error to report.</summary>
    private static MigrationException Spoke(MigrationConnection destination)
    {
        PeerSignal signal = destination.ReadPeer();
        if (signal.Failure is Exception failure)
        {
            return destination.IsTls || failure is not SocketException socket
                ? new MigrationException($"connection failed: {TlsTransport.DescribeFailure(failure)}", failure)
                : new MigrationException($"connection failed: the destination dropped the connection: {socket.Message} ({socket.SocketErrorCode})", socket);
        }

        if (signal.Ended)
        {
            return new MigrationException(destination.IsTls
                ? "connection failed: the destination closed the TLS connection before the migration ended (a TLS destination that refuses this source's certificate after the handshake does this: not from its CA, expired, or not in its tls-authz; the destination's log says why)"
                : "connection failed: the destination closed the connection before the migration ended");
        }

        ReadOnlySpan<byte> bytes = signal.Bytes.Span;
        int end = bytes.IndexOf((byte)'\n');
        string line = Encoding.UTF8.GetString(end >= 0 ? bytes[..end] : bytes);
        try
        {
            MigrationReply.ParseChecksums(line); // an error line throws with the destination's reason
        }
        catch (MigrationException e)
        {
            return e;
        }

        return new MigrationException($"the destination answered before the stream ended: {(line.Length <= 200 ? line : line[..200] + "…")}");
    }
}
