using Engine.Tests.Multifd;
using System.Diagnostics;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary>
/// The failure rules of pre-copy, which both wire modes share (<c>PrecopyDriver</c>): each test runs the single stream
/// and multifd alike, against sinks that read and discard what the source sends (no real destination, so the test decides
/// exactly when and how the destination fails).
/// </summary>
public sealed class PrecopyFailureTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    // Well under the I/O timeout, so only the prompt path passes; not tighter, because CI runs on 2 shared cores.
    private static readonly TimeSpan NoticeLimit = TimeSpan.FromSeconds(4);

    [Theory(Timeout = 30_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFailureAfterTheGuestIsPausedResumesIt(bool multifd)
    {
        // The destination gives up (its error line, then its close) at the moment the source pauses the guest for the
        // last round: whichever way the source then notices (a failed send, the reply), the guest must run on.
        using var control = new RecordingControl();
        var block = new RamBlock("pc.ram", 4L << 20);
        new Random(7).NextBytes(block.GetSpan(0, 1 << 20));
        using MigrationGuest guest = MigrationGuest.FromBlocks([block], control: control);
        await using var sinks = new Sinks();
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        {
            sinks.Drain(destinationEnd, dispose: true);
            control.OnPause = () =>
            {
                MigrationReply.TryWriteError(destinationEnd, "the destination gave up at the pause");
                destinationEnd.Socket.Shutdown(SocketShutdown.Both);
            };
            var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 };
            (Func<MigrationResult> run, Func<MigrationStatistics> statistics) = Source(guest, parameters, multifd, sourceEnd, sinks, CancellationToken.None);

            MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => Task.Factory.StartNew(run, TaskCreationOptions.LongRunning));
            Assert.True(control.Pauses == 1, $"{control.Pauses} pauses: the source should have reached the last round ({failure.Message})");
            Assert.True(control.Resumes == 1, $"{control.Resumes} resumes after the failure '{failure.Message}'");
            Assert.Equal(MigrationStatus.Failed, statistics().Status);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ADestinationThatGivesUpStopsTheSourceAtOnceWithItsReason(bool multifd)
    {
        // Incompressible pages at 8 MiB/s while the guest writes: far more than the socket buffers hold.
        var parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.None, 0), CompressThreads = 2, MaxBandwidth = 8L << 20 };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(32L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 1000 }, seed: 5, zeroFraction: 0);
        guest.StartWriters();
        await using var sinks = new Sinks();
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            sinks.Drain(destinationEnd);
            (Func<MigrationResult> run, Func<MigrationStatistics> statistics) = Source(guest, parameters, multifd, sourceEnd, sinks, CancellationToken.None);
            Task<MigrationResult> migrating = Task.Factory.StartNew(run, TaskCreationOptions.LongRunning);
            await WaitForTransferred(statistics, migrating, 256 << 10);

            // The connection stays open: only the destination's line says that it gave up.
            MigrationReply.TryWriteError(destinationEnd, "the destination discarded the stream: page 0x1000 of 'pc.ram' did not decompress");
            long told = Stopwatch.GetTimestamp();

            MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => migrating);
            TimeSpan noticed = Stopwatch.GetElapsedTime(told);
            Assert.True(noticed < NoticeLimit, $"the source stopped {noticed.TotalMilliseconds:0} ms after the destination's error");
            Assert.Contains("did not decompress", failure.Message);
            Assert.Equal(MigrationStatus.Failed, statistics().Status);
            Assert.False(guest.Writers!.IsPaused);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task CancellingTheSourceStopsItAtOnceAndTheGuestRunsOn(bool multifd)
    {
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 2L << 20 };
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(16L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 2000 }, seed: 6, zeroFraction: 0);
        guest.StartWriters();
        await using var sinks = new Sinks();
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            sinks.Drain(destinationEnd);
            using var cts = new CancellationTokenSource();
            (Func<MigrationResult> run, Func<MigrationStatistics> statistics) = Source(guest, parameters, multifd, sourceEnd, sinks, cts.Token);
            Task<MigrationResult> migrating = Task.Factory.StartNew(run, TaskCreationOptions.LongRunning);
            await WaitForTransferred(statistics, migrating, 256 << 10);

            long cancelled = Stopwatch.GetTimestamp();
            cts.Cancel();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => migrating);
            TimeSpan took = Stopwatch.GetElapsedTime(cancelled);
            Assert.True(took < NoticeLimit, $"cancellation took {took.TotalMilliseconds:0} ms");
            Assert.Equal(MigrationStatus.Cancelled, statistics().Status);
            Assert.False(guest.Writers!.IsPaused);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AConnectionResetInTheMiddleOfABatchAfterChunksWereHashedFailsCleanly(bool multifd)
    {
        // The source hashes each 16 MiB chunk as it leaves it behind; a connection that dies while pages of the next
        // chunk are in flight must fail the migration as before: the error, Failed, the guest untouched and running.
        using var control = new RecordingControl();
        var block = new RamBlock("pc.ram", 48L << 20);
        new Random(9).NextBytes(block.GetSpan(0, 48 << 20));
        using MigrationGuest guest = MigrationGuest.FromBlocks([block], control: control);
        string before = MemoryChecksum.Of(block);
        await using var sinks = new Sinks();
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            sinks.Drain(destinationEnd);
            var parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.None, 0), CompressThreads = 2, MaxBandwidth = 24L << 20 };
            (Func<MigrationResult> run, Func<MigrationStatistics> statistics, Func<SourceChecksums> checksums) = SourceWithChecksums(guest, parameters, multifd, sourceEnd, sinks, CancellationToken.None);
            Task<MigrationResult> migrating = Task.Factory.StartNew(run, TaskCreationOptions.LongRunning);
            while (checksums().HashedWhileSending == 0 && !migrating.IsCompleted)
            {
                await Task.Delay(5);
            }

            Assert.False(migrating.IsCompleted, "the migration ended before the test could interfere");
            int hashed = checksums().HashedWhileSending;
            sinks.Reset();
            long reset = Stopwatch.GetTimestamp();

            MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => migrating);
            TimeSpan noticed = Stopwatch.GetElapsedTime(reset);
            Assert.True(noticed < NoticeLimit, $"the source noticed the reset after {noticed.TotalMilliseconds:0} ms");
            Assert.False(string.IsNullOrEmpty(failure.Message));
            Assert.Equal(MigrationStatus.Failed, statistics().Status);
            Assert.True(hashed >= 1, "the reset came before any chunk was hashed");
            Assert.Equal(0, checksums().HashedAtFinish);
            Assert.Equal(0, control.Pauses);
            Assert.Equal(before, MemoryChecksum.Of(block));
        }
    }

    /// <summary>A source of either mode over <paramref name="main"/>; multifd's channels go to sinks of their own.</summary>
    private static (Func<MigrationResult> Run, Func<MigrationStatistics> Statistics) Source(
        MigrationGuest guest, MigrationParameters parameters, bool multifd, NetworkStream main, Sinks sinks, CancellationToken cancellationToken)
    {
        (Func<MigrationResult> run, Func<MigrationStatistics> statistics, _) = SourceWithChecksums(guest, parameters, multifd, main, sinks, cancellationToken);
        return (run, statistics);
    }

    /// <summary><see cref="Source"/>, with the source's checksums as they are hashed.</summary>
    private static (Func<MigrationResult> Run, Func<MigrationStatistics> Statistics, Func<SourceChecksums> Checksums) SourceWithChecksums(
        MigrationGuest guest, MigrationParameters parameters, bool multifd, NetworkStream main, Sinks sinks, CancellationToken cancellationToken)
    {
        var options = new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(200) };
        if (!multifd)
        {
            var single = new SourceMigration(guest, parameters, options);
            return (() => single.Run(main, cancellationToken), () => single.Statistics, () => single.Checksums);
        }

        var source = new MultifdSource(guest, MultifdLoopback.Combine(parameters, new MigrationParameters { MultifdChannels = 2 }), options);
        return (() => source.Run(main, (_, _) =>
        {
            (NetworkStream channel, NetworkStream far) = TcpTransport.CreateLoopbackPair(IoTimeout);
            sinks.Drain(far, dispose: true);
            return channel;
        }, cancellationToken), () => source.Statistics, () => source.Checksums);
    }

    private static async Task WaitForTransferred(Func<MigrationStatistics> statistics, Task<MigrationResult> migrating, long bytes)
    {
        while (statistics().Transferred < bytes && !migrating.IsCompleted)
        {
            await Task.Delay(10);
        }

        Assert.False(migrating.IsCompleted, "the migration ended before the test could interfere");
    }

    /// <summary>
    /// Reads and discards what the source sends on each connection; when disposed, ends every connection, waits for every
    /// reader and disposes the connections it was asked to.
    /// </summary>
    private sealed class Sinks : IAsyncDisposable
    {
        private readonly List<(Task Reader, NetworkStream Stream, bool Dispose)> _readers = [];

        public void Drain(NetworkStream stream, bool dispose = false)
        {
            Task reader = Task.Factory.StartNew(() =>
            {
                byte[] buffer = new byte[64 << 10];
                try
                {
                    while (stream.Read(buffer) > 0)
                    {
                    }
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
                {
                    // The connection ended: the sink's work is done.
                }
            }, TaskCreationOptions.LongRunning);
            lock (_readers)
            {
                _readers.Add((reader, stream, dispose));
            }
        }

        /// <summary>Resets every connection now (linger 0: the source's next send or read fails).</summary>
        public void Reset()
        {
            lock (_readers)
            {
                foreach ((Task _, NetworkStream stream, bool _) in _readers)
                {
                    try
                    {
                        stream.Socket.LingerState = new LingerOption(true, 0);
                        stream.Socket.Close();
                    }
                    catch (Exception e) when (e is SocketException or ObjectDisposedException)
                    {
                        // Ended already.
                    }
                }
            }
        }

        public async ValueTask DisposeAsync()
        {
            (Task Reader, NetworkStream Stream, bool Dispose)[] readers;
            lock (_readers)
            {
                readers = [.. _readers];
            }

            foreach ((Task _, NetworkStream stream, bool _) in readers)
            {
                try
                {
                    // A connection the source left open ends here, so no reader outlives the test.
                    stream.Socket.Shutdown(SocketShutdown.Both);
                }
                catch (Exception e) when (e is SocketException or ObjectDisposedException)
                {
                    // Ended already.
                }
            }

            foreach ((Task reader, NetworkStream stream, bool dispose) in readers)
            {
                await reader.WaitAsync(TimeSpan.FromSeconds(10));
                if (dispose)
                {
                    stream.Dispose();
                }
            }
        }
    }

    /// <summary>A guest's vCPUs as the migration sees them: counts pauses and resumes, runs a test's action at the pause.</summary>
    private sealed class RecordingControl : IGuestControl, IDisposable
    {
        private int _pauses;
        private int _resumes;

        public Action? OnPause { get; set; }

        public int Pauses => Volatile.Read(ref _pauses);

        public int Resumes => Volatile.Read(ref _resumes);

        public Exception? Failure => null;

        public void Pause()
        {
            Interlocked.Increment(ref _pauses);
            OnPause?.Invoke();
        }

        public void Resume() => Interlocked.Increment(ref _resumes);

        public void Throttle(double fraction)
        {
        }

        public void Dispose()
        {
        }
    }
}
