using System.Net;
using System.Net.Sockets;
using Engine.Migration;
using Engine.Multifd;
using Engine.Transport;

namespace Engine.Tests.Multifd;

/// <summary>An Engine multifd source and destination in one process over loopback TCP (optionally TLS on every connection).</summary>
internal static class MultifdLoopback
{
    public static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A copy of <paramref name="parameters"/> with <paramref name="multifd"/>'s multifd-* parameters.</summary>
    public static MigrationParameters Combine(MigrationParameters parameters, MigrationParameters multifd)
    {
        MigrationParameters combined = parameters.Clone();
        combined.MultifdChannels = multifd.MultifdChannels;
        combined.MultifdCompression = multifd.MultifdCompression;
        combined.MultifdZlibLevel = multifd.MultifdZlibLevel;
        combined.MultifdZstdLevel = multifd.MultifdZstdLevel;
        return combined;
    }

    public static Task<(MigrationResult Source, DestinationResult Destination, MultifdSource Migration)> Migrate(
        MigrationGuest guest, MigrationParameters parameters, MigrationParameters multifd, SourceMigrationOptions? options = null)
        => Migrate(guest, parameters, multifd, serverTls: null, clientTls: null, options);

    /// <summary>
    /// Migrates with <paramref name="serverTls"/> on the destination (main and channels) and <paramref name="clientTls"/> on the
    /// source's main connection; the source's channels use <paramref name="channelTls"/> when given (else
    /// <paramref name="clientTls"/>), or plain TCP when <paramref name="plainChannels"/>; <paramref name="channelSocket"/> may
    /// configure each channel's socket on the source (its send buffer) before the channel starts.
    /// </summary>
    public static async Task<(MigrationResult Source, DestinationResult Destination, MultifdSource Migration)> Migrate(
        MigrationGuest guest, MigrationParameters parameters, MigrationParameters multifd, TlsOptions? serverTls, TlsOptions? clientTls,
        SourceMigrationOptions? options = null, TlsOptions? channelTls = null, bool plainChannels = false, Action<MultifdSource>? started = null,
        Action<Socket>? channelSocket = null)
    {
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var destination = new MultifdDestination(new DestinationOptions { Parameters = multifd, ReadTimeout = IoTimeout }) { Tls = serverTls };
        Task<DestinationResult> incoming = Task.Run(() =>
        {
            NetworkStream connection = TcpTransport.Accept(listener, IoTimeout);
            using Stream main = serverTls is null ? connection : TlsTransport.AuthenticateAsServer(connection, serverTls);
            DestinationResult received = destination.Run(main, listener);
            TlsTransport.Close(main);
            return received;
        });
        var source = new MultifdSource(guest, MultifdLoopback.Combine(parameters, multifd), options ?? new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(200) });
        started?.Invoke(source);
        TlsOptions? channels = plainChannels ? null : channelTls ?? clientTls;
        MigrationResult result;
        try
        {
            result = await Task.Run(() =>
            {
                using Stream main = TlsTransport.Connect("127.0.0.1", port, clientTls, IoTimeout, IoTimeout);
                try
                {
                    return source.Run(main, (_, token) =>
                    {
                        Stream channel = TlsTransport.Connect("127.0.0.1", port, channels, IoTimeout, IoTimeout, token);
                        if (channelSocket is not null && MigrationConnection.Of(channel) is MigrationConnection connection)
                        {
                            channelSocket(connection.Socket);
                        }

                        return channel;
                    });
                }
                finally
                {
                    TlsTransport.Close(main);
                }
            });
        }
        catch
        {
            // The destination ends too (the connections closed); observe it so nothing outlives the test.
            try
            {
                (await incoming).Memory.Dispose();
            }
            catch (Exception)
            {
                // The source's failure is the one reported.
            }

            throw;
        }

        return (result, await incoming, source);
    }
}
