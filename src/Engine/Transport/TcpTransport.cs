using System.Net;
using System.Net.Sockets;

namespace Engine.Transport;

/// <summary>
/// TCP connections for migrations: connect, listen and accept, and an in-process loopback pair. Every socket gets send and
/// receive timeouts, so a peer that stops answering ends in an error, not a hang.
/// </summary>
internal static class TcpTransport
{
    /// <summary>The default timeout of one send or receive.</summary>
    public static readonly TimeSpan DefaultIoTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Connects to <paramref name="host"/>:<paramref name="port"/> within <paramref name="connectTimeout"/>.</summary>
    public static NetworkStream Connect(string host, int port, TimeSpan connectTimeout, TimeSpan ioTimeout, CancellationToken cancellationToken = default)
    {
        var client = new TcpClient { NoDelay = true };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(connectTimeout);
            try
            {
                client.ConnectAsync(host, port, timeout.Token).AsTask().GetAwaiter().GetResult();
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new IOException($"could not connect to {host}:{port} within {connectTimeout.TotalSeconds:0.#} s");
            }
            catch (SocketException e)
            {
                throw new IOException($"could not connect to {host}:{port}: {e.Message}", e);
            }

            return Configure(client.Client, ioTimeout);
        }
        catch
        {
            client.Dispose();
            throw;
        }
    }

    /// <summary>Starts listening on <paramref name="host"/>:<paramref name="port"/> (port 0: any free port).</summary>
    public static TcpListener Listen(string host, int port) => Listen(host, port, backlog: 1);

    /// <summary>Starts listening with room for <paramref name="backlog"/> pending connections (multifd's channels connect at once).</summary>
    public static TcpListener Listen(string host, int port, int backlog)
    {
        IPAddress address = host is "" or "0.0.0.0" or "*" ? IPAddress.Any
            : IPAddress.TryParse(host, out IPAddress? parsed) ? parsed
            : Dns.GetHostAddresses(host).First();
        var listener = new TcpListener(address, port);
        try
        {
            listener.Start(backlog);
        }
        catch (SocketException e)
        {
            listener.Dispose();
            throw new IOException($"cannot listen on {host}:{port}: {e.Message}", e);
        }

        return listener;
    }

    /// <summary>Accepts one connection (cancellable) and configures it.</summary>
    public static NetworkStream Accept(TcpListener listener, TimeSpan ioTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(listener);
        Socket socket = listener.AcceptSocketAsync(cancellationToken).AsTask().GetAwaiter().GetResult();
        return Configure(socket, ioTimeout);
    }

    /// <summary>A connected pair over 127.0.0.1: (source end, destination end). For the demo and tests.</summary>
    public static (NetworkStream Source, NetworkStream Destination) CreateLoopbackPair(TimeSpan ioTimeout)
    {
        using TcpListener listener = Listen("127.0.0.1", 0);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        Task<Socket> accepting = listener.AcceptSocketAsync();
        NetworkStream source = Connect("127.0.0.1", port, TimeSpan.FromSeconds(10), ioTimeout);
        NetworkStream destination = Configure(accepting.GetAwaiter().GetResult(), ioTimeout);
        return (source, destination);
    }

    private static NetworkStream Configure(Socket socket, TimeSpan ioTimeout)
    {
        int ms = MigrationConnection.SocketTimeout(ioTimeout);
        socket.NoDelay = true;
        socket.SendTimeout = ms;
        socket.ReceiveTimeout = ms;
        socket.SendBufferSize = 1 << 20;
        socket.ReceiveBufferSize = 1 << 20;
        return new NetworkStream(socket, ownsSocket: true);
    }
}
