using System.Diagnostics;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Migration;
using Engine.Tools;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class MigrationFaultTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    /// <summary>How fast the source must report a dropped connection (issue 5: "within a second").</summary>
    // Well under the 10 s I/O timeout, so only the prompt path passes; not tighter, because CI runs on 2 shared cores.
    private static readonly TimeSpan DropNoticeLimit = TimeSpan.FromSeconds(4);

    [Theory(Timeout = 60_000)]
    [InlineData(true)]  // reset: a killed process's socket with data unread
    [InlineData(false)] // close: the peer ends the connection in order (FIN)
    public async Task ConnectionDropFailsTheSourceWithinASecondLeavesTheGuestAloneAndARetrySucceeds(bool reset)
    {
        // A rate-limited source spends most of its time waiting for the next 100 ms window; the drop must be noticed in
        // the wait, not at the next write that happens to fail.
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 4L << 20 };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(16L << 20);
        string before = MemoryChecksum.Of(guest.Memory.Blocks[0]);

        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        var source = new SourceMigration(guest, parameters);
        long dropped = 0;
        Task<MigrationResult> migrating = Task.Factory.StartNew(() => source.Run(sourceEnd), TaskCreationOptions.LongRunning);

        // A destination that reads 1 MiB and then vanishes.
        await Task.Run(() =>
        {
            ReadAtLeast(destinationEnd, 1 << 20);
            if (reset)
            {
                destinationEnd.Socket.LingerState = new LingerOption(true, 0);
            }

            destinationEnd.Dispose();
            dropped = Stopwatch.GetTimestamp();
        });

        MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => migrating);
        TimeSpan noticed = Stopwatch.GetElapsedTime(dropped);
        sourceEnd.Dispose();
        Assert.True(noticed < DropNoticeLimit, $"the source noticed the drop after {noticed.TotalMilliseconds:0} ms");
        Assert.Contains("connection", failure.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Equal(MigrationStatus.Failed, source.Statistics.Status);
        Assert.Equal(before, MemoryChecksum.Of(guest.Memory.Blocks[0]));

        // A new migration of the same guest to a fresh destination succeeds.
        (MigrationResult retry, DestinationResult received) = await LiveMigrationTests.MigrateOverLoopback(guest, new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 });
        received.Memory.Dispose();
        Assert.True(retry.ChecksumsMatch);
    }

    [Fact(Timeout = 60_000)]
    public async Task ADestinationThatGivesUpStopsTheSourceAtOnceWithItsReason()
    {
        // Regression: the source noticed a failed destination only when a write failed. A destination that says why it
        // gave up but keeps the connection open (an embedding host that has not closed it yet) let the source fill the
        // socket buffers and wait out its whole send timeout, and the destination's reason was lost.
        // 32 MiB that do not compress, at 8 MiB/s: far more than the socket buffers hold, so the stream cannot simply end
        // and let the source read the error as the reply.
        var parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.None, 0), CompressThreads = 2, MaxBandwidth = 8L << 20 };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(32L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 1000 }, seed: 5, zeroFraction: 0);
        guest.StartWriters();
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(TimeSpan.FromSeconds(20));
        using (sourceEnd)
        using (destinationEnd)
        {
            var source = new SourceMigration(guest, parameters);
            Task<MigrationResult> migrating = Task.Factory.StartNew(() => source.Run(sourceEnd), TaskCreationOptions.LongRunning);
            ReadAtLeast(destinationEnd, 256 << 10);
            MigrationReply.TryWriteError(destinationEnd, "the destination discarded the stream: page 0x1000 of 'pc.ram' did not decompress");
            long told = Stopwatch.GetTimestamp();

            MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => migrating);
            TimeSpan noticed = Stopwatch.GetElapsedTime(told);
            Assert.True(noticed < DropNoticeLimit, $"the source stopped {noticed.TotalMilliseconds:0} ms after the destination's error");
            Assert.Contains("did not decompress", failure.Message);
            Assert.Equal(MigrationStatus.Failed, source.Statistics.Status);
            Assert.False(guest.Writers!.IsPaused);
        }
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
    public async Task ADestinationThatNeverRepliesTimesOutAtTheSource()
    {
        // The destination reads the whole stream and then says nothing: the source's wait for the confirmation is bounded.
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            using MigrationGuest guest = MigrationGuest.CreateSynthetic(1L << 20);
            Task drain = Task.Run(() => destinationEnd.CopyTo(Stream.Null));
            var source = new SourceMigration(guest, new MigrationParameters { CompressThreads = 1, MaxBandwidth = 0 }, new SourceMigrationOptions { ReplyTimeout = TimeSpan.FromMilliseconds(300) });
            MigrationException e = await Assert.ThrowsAsync<MigrationException>(() => Task.Run(() => source.Run(sourceEnd)));
            Assert.Contains("no reply", e.Message);
            Assert.Equal(MigrationStatus.Failed, source.Statistics.Status);
            await drain;
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task CancellingASourceBlockedInASendEndsAtOnce()
    {
        // Regression: a blocking send into a destination that stopped reading does not observe the token, so a
        // cancellation (Ctrl-C) waited out the whole send timeout. Cancelling now shuts the connection down.
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(TimeSpan.FromSeconds(60));
        using (sourceEnd)
        using (destinationEnd)
        {
            using MigrationGuest guest = MigrationGuest.CreateSynthetic(32L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 1000 }, seed: 3, zeroFraction: 0);
            guest.StartWriters();
            var source = new SourceMigration(guest, new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.None, 0), CompressThreads = 1, MaxBandwidth = 0 });
            using var cts = new CancellationTokenSource();
            Task<MigrationResult> migrating = Task.Factory.StartNew(() => source.Run(sourceEnd, cts.Token), TaskCreationOptions.LongRunning);

            // The socket buffers are full once the source stops making progress.
            long last = -1;
            while (source.Statistics.Transferred != last || last <= 0)
            {
                last = source.Statistics.Transferred;
                await Task.Delay(200);
            }

            long cancelled = Stopwatch.GetTimestamp();
            cts.Cancel();
            Task finished = await Task.WhenAny(migrating, Task.Delay(TimeSpan.FromSeconds(10)));
            Assert.True(finished == migrating, "the cancelled source was still blocked after 10 s");
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => migrating);
            Assert.True(Stopwatch.GetElapsedTime(cancelled) < TimeSpan.FromSeconds(4), $"cancellation took {Stopwatch.GetElapsedTime(cancelled).TotalMilliseconds:0} ms");
            Assert.Equal(MigrationStatus.Cancelled, source.Statistics.Status);
            Assert.False(guest.Writers!.IsPaused);
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

    private static void ReadAtLeast(Stream stream, long bytes)
    {
        byte[] buffer = new byte[64 * 1024];
        long read = 0;
        while (read < bytes)
        {
            int n = stream.Read(buffer);
            Assert.True(n > 0, "the source ended the stream early");
            read += n;
        }
    }

    [Fact]
    public void BadParametersAreRejectedBeforeAnythingStarts()
    {
        Assert.Throws<EngineParameterException>(() => new DestinationMigration(new DestinationOptions { Parameters = new MigrationParameters { DecompressThreads = 0 } }));
        Assert.Throws<EngineParameterException>(() => MigrationGuest.CreateSynthetic(1000));
        Assert.Throws<EngineParameterException>(() => MigrationEndpoint.Parse("udp:host:1"));
        Assert.Equal(new MigrationEndpoint { IsTcp = true, Host = "10.0.0.1", Port = 4444 }, MigrationEndpoint.Parse("tcp:10.0.0.1:4444"));
        Assert.Equal("/tmp/x", MigrationEndpoint.Parse("file:/tmp/x").Path);
    }
}
