using System.Net;
using System.Net.Sockets;
using Engine.Migration;
using Engine.Multifd;
using Engine.Transport;

namespace Engine.Tests.Multifd;

/// <summary>An Engine multifd source and destination in one process over loopback TCP.</summary>
internal static class MultifdLoopback
{
    public static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    public static async Task<(MigrationResult Source, DestinationResult Destination, MultifdSource Migration)> Migrate(
        MigrationGuest guest, MigrationParameters parameters, MultifdParameters multifd, SourceMigrationOptions? options = null)
    {
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 256);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var destination = new MultifdDestination(multifd, new DestinationOptions { ReadTimeout = IoTimeout });
        Task<DestinationResult> incoming = Task.Run(() =>
        {
            using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
            return destination.Run(main, listener);
        });
        var source = new MultifdSource(guest, parameters, multifd, options ?? new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(200) });
        MigrationResult result;
        try
        {
            result = await Task.Run(() =>
            {
                using NetworkStream main = TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout);
                return source.Run(main, (_, token) => TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout, token));
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
