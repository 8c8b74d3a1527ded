using System.Diagnostics;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Migration;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class MigrationFaultTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    [Fact(Timeout = 60_000)]
    public async Task ConnectionDropFailsTheSourceQuicklyLeavesTheGuestAloneAndARetrySucceeds()
    {
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 4L << 20 };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(16L << 20);
        string before = MemoryChecksum.Of(guest.Memory.Blocks[0]);

        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        var source = new SourceMigration(guest, parameters);
        long dropped = 0;
        Task<MigrationResult> migrating = Task.Factory.StartNew(() => source.Run(sourceEnd), TaskCreationOptions.LongRunning);

        // A destination that reads 1 MiB and then vanishes (its process died: the socket is closed with data unread).
        await Task.Run(() =>
        {
            byte[] buffer = new byte[64 * 1024];
            long read = 0;
            while (read < (1 << 20))
            {
                int n = destinationEnd.Read(buffer);
                Assert.True(n > 0);
                read += n;
            }

            destinationEnd.Socket.LingerState = new LingerOption(true, 0); // reset, as a killed process's socket
            destinationEnd.Dispose();
            dropped = Stopwatch.GetTimestamp();
        });

        MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => migrating);
        TimeSpan noticed = Stopwatch.GetElapsedTime(dropped);
        sourceEnd.Dispose();
        Assert.True(noticed < TimeSpan.FromSeconds(2), $"the source noticed the drop after {noticed.TotalMilliseconds:0} ms");
        Assert.Contains("connection", failure.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(MigrationStatus.Failed, source.Statistics.Status);
        Assert.Equal(before, MemoryChecksum.Of(guest.Memory.Blocks[0]));

        // A new migration of the same guest to a fresh destination succeeds.
        (MigrationResult retry, DestinationResult received) = await LiveMigrationTests.MigrateOverLoopback(guest, new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 });
        received.Memory.Dispose();
        Assert.True(retry.ChecksumsMatch);
    }

    [Fact(Timeout = 30_000)]
    public async Task DestinationDiscardsAnIncompleteStreamAndSaysWhere()
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(4L << 20);
        var stream = new MemoryStream();
        await Task.Run(() => new SourceMigration(guest, new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 }).Run(stream));
        byte[] whole = stream.ToArray();
        byte[] cut = whole[..(whole.Length / 2)];

        var destination = new DestinationMigration(new DestinationOptions());
        MigrationException e = Assert.Throws<MigrationException>(() => destination.Run(new MemoryStream(cut)));
        Assert.Contains("discarded", e.Message);
        Assert.Contains("byte offset", e.Message);

        // The whole stream loads, and equals the guest.
        DestinationResult ok = destination.Run(new MemoryStream(whole));
        using (ok.Memory)
        {
            Assert.Equal(MemoryChecksum.Of(guest.Memory), ok.Checksums);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ASilentSourceTimesOutAtTheDestination()
    {
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            var destination = new DestinationMigration(new DestinationOptions { ReadTimeout = TimeSpan.FromMilliseconds(300) });
            MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => Task.Run(() => destination.Run(destinationEnd)));
            Assert.Contains("discarded", e.Message);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ASilentDestinationTimesOutAtTheSource()
    {
        // The destination accepts the connection and never reads: the source's sends fill the socket buffers and time out.
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(TimeSpan.FromMilliseconds(500));
        using (sourceEnd)
        using (destinationEnd)
        {
            using MigrationGuest guest = MigrationGuest.CreateSynthetic(32L << 20, seed: 3, zeroFraction: 0);
            var source = new SourceMigration(guest, new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.None, 0), CompressThreads = 1, MaxBandwidth = 0 });
            MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => Task.Run(() => source.Run(sourceEnd)));
            Assert.Equal(MigrationStatus.Failed, source.Statistics.Status);
            Assert.False(string.IsNullOrEmpty(e.Message));
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task CancellingTheSourceStopsItAndTheGuestRunsOn()
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(16L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 2000 });
        guest.StartWriters();
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            var destination = new DestinationMigration(new DestinationOptions { ReadTimeout = IoTimeout });
            Task<DestinationResult> incoming = Task.Factory.StartNew(() => destination.Run(destinationEnd), TaskCreationOptions.LongRunning);
            using var cts = new CancellationTokenSource();
            var source = new SourceMigration(guest, new MigrationParameters { CompressThreads = 2, MaxBandwidth = 1L << 20 });
            Task<MigrationResult> migrating = Task.Factory.StartNew(() => source.Run(sourceEnd, cts.Token), TaskCreationOptions.LongRunning);
            while (source.Statistics.Transferred < (256 << 10))
            {
                await Task.Delay(10);
            }

            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => migrating);
            Assert.Equal(MigrationStatus.Cancelled, source.Statistics.Status);
            Assert.False(guest.Writers!.IsPaused);

            // The destination sees the stream end early and discards it.
            sourceEnd.Dispose();
            await Assert.ThrowsAsync<MigrationException>(() => incoming);
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task CancellingTheDestinationStopsIt()
    {
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            using var cts = new CancellationTokenSource();
            var destination = new DestinationMigration(new DestinationOptions { ReadTimeout = IoTimeout });
            Task<DestinationResult> incoming = Task.Factory.StartNew(() => destination.Run(destinationEnd, cts.Token), TaskCreationOptions.LongRunning);
            await Task.Delay(50);
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => incoming);
        }
    }

    [Fact]
    public void BadParametersAreRejectedBeforeAnythingStarts()
    {
        Assert.Throws<EngineParameterException>(() => new DestinationMigration(new DestinationOptions { DecompressThreads = 0 }));
        Assert.Throws<EngineParameterException>(() => MigrationGuest.CreateSynthetic(1000));
        Assert.Throws<EngineParameterException>(() => MigrationEndpoint.Parse("udp:host:1"));
        Assert.Equal(new MigrationEndpoint { IsTcp = true, Host = "10.0.0.1", Port = 4444 }, MigrationEndpoint.Parse("tcp:10.0.0.1:4444"));
        Assert.Equal("/tmp/x", MigrationEndpoint.Parse("file:/tmp/x").Path);
    }
}
