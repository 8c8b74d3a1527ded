using System.Diagnostics;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Migration;
using Engine.Tests.Support;
using Engine.Tests.Transport;
using Engine.Tools;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary>
/// Whole migrations over TLS through a <see cref="MigrationListener"/>: byte-exact arrival, a refused source's report, one
/// migration per listener, a trickling source, and the bound on the RAM a source may announce.
/// </summary>
public sealed class TlsMigrationTests
{
    private static readonly TimeSpan Io = TimeSpan.FromSeconds(10);
    private static TestCertificates Certs => TestCertificates.Shared;

    private static TlsOptions Server(IReadOnlyList<string>? authz = null) => new() { Credentials = Certs.Server, AuthorizedSubjects = authz };

    private static TlsOptions Client(TlsCredentials? credentials = null) => new() { Credentials = credentials ?? Certs.Client };

    private static MigrationParameters Parameters => new()
    {
        Compression = CompressionSettings.Create(CompressMethod.Zstd, 1),
        CompressThreads = 2,
        DecompressThreads = 2,
        MaxBandwidth = 0,
    };

    private static MigrationResult MigrateTo(MigrationGuest guest, int port, TlsOptions? tls, MigrationParameters? parameters = null)
    {
        Stream connection = TcpTransport.Connect("127.0.0.1", port, Io, Io);
        if (tls is not null)
        {
            connection = TlsTransport.AuthenticateAsClient(connection, tls, "127.0.0.1");
        }

        try
        {
            return new SourceMigration(guest, parameters ?? Parameters, new SourceMigrationOptions { ReplyTimeout = Io }).Run(connection);
        }
        finally
        {
            TlsTransport.Close(connection);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task AGuestUnderWritesArrivesByteExactOverTls()
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(16L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 5_000 });
        guest.StartWriters();
        using var listener = new MigrationListener("127.0.0.1", 0, Server(authz: ["CN=client,O=Engine"]), Io);
        Task<DestinationResult> receiving = Task.Factory.StartNew(() =>
        {
            using Stream connection = listener.Accept();
            Assert.IsType<MigrationTlsStream>(connection);
            listener.RefuseOthers("busy");
            DestinationResult result = new DestinationMigration(new DestinationOptions { Parameters = new MigrationParameters { DecompressThreads = 2, Compression = CompressionSettings.Create(CompressMethod.Zstd, 1) }, ReadTimeout = Io }).Run(connection);
            TlsTransport.Close(connection);
            return result;
        }, TaskCreationOptions.LongRunning);

        MigrationResult sent = await Task.Factory.StartNew(() => MigrateTo(guest, listener.LocalEndpoint.Port, Client()), TaskCreationOptions.LongRunning);
        DestinationResult received = await receiving;
        using (received.Memory)
        {
            Assert.True(sent.ChecksumsMatch);
            Assert.Equal(MigrationStatus.Completed, sent.Info.Status);
            Assert.True(guest.Memory.Blocks[0].GetSpan(0, 16 << 20).SequenceEqual(received.Memory.Blocks[0].GetSpan(0, 16 << 20)));
            Assert.True(sent.Info.CompressedPages > 0);
        }
    }

    [Fact(Timeout = 120_000)]
    public async Task ASourceTheDestinationRefusesAfterTheHandshakeReportsWhyAndItsGuestRunsOn()
    {
        // TLS 1.3: the source's handshake ends before the destination has judged its certificate; the refusal reaches the
        // source as the connection's close, which it must report as that, not as a broken pipe.
        string dir = Certs.Write(Certs.Ca, TestCertificates.IssueExpired(Certs.Ca, "CN=client", TlsRole.Client), TlsRole.Client);
        using TlsCredentials expired = TestCertificates.LoadExpired(dir, TlsRole.Client);
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20, new GuestWriterOptions { Threads = 1, PagesPerSecond = 1_000 });
        guest.StartWriters();
        using var listener = new MigrationListener("127.0.0.1", 0, Server(), Io);
        Task<Exception?> accepting = Task.Run(() =>
        {
            try
            {
                listener.Accept().Dispose();
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        });

        var clock = Stopwatch.StartNew();
        MigrationException failed = await Assert.ThrowsAsync<MigrationException>(() => Task.Run(() => MigrateTo(guest, listener.LocalEndpoint.Port, Client(expired))));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the source took {clock.Elapsed.TotalSeconds:0.0} s to notice");
        Assert.Contains("refuses this source's certificate", failed.Message);
        EngineException refused = Assert.IsType<EngineException>(await accepting);
        Assert.Equal(EngineErrorKind.Security, refused.Kind);
        Assert.Contains("has expired", refused.Message);
        Assert.False(guest.Writers!.IsPaused);
    }

    [Theory(Timeout = 120_000)]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ASecondSourceIsRefusedWithAReasonWhileTheFirstMigrates(bool tls)
    {
        var refusals = new List<string>();
        using MigrationGuest first = MigrationGuest.CreateSynthetic(16L << 20);
        using MigrationGuest second = MigrationGuest.CreateSynthetic(4L << 20);
        using var listener = new MigrationListener("127.0.0.1", 0, tls ? Server() : null, Io, r => { lock (refusals) { refusals.Add(r); } });
        using var secondTried = new ManualResetEventSlim();
        Task<DestinationResult> receiving = Task.Factory.StartNew(() =>
        {
            using Stream connection = listener.Accept();
            listener.RefuseOthers("the destination is busy with another migration");
            secondTried.Wait(TimeSpan.FromSeconds(30)); // the first migration is "running" while the second source tries
            DestinationResult result = new DestinationMigration(new DestinationOptions { ReadTimeout = Io }).Run(connection);
            TlsTransport.Close(connection);
            return result;
        }, TaskCreationOptions.LongRunning);

        // A slow first source keeps the listener's migration open while the second one is refused.
        var slow = Parameters;
        slow.MaxBandwidth = 8L << 20;
        Task<MigrationResult> migrating = Task.Factory.StartNew(() => MigrateTo(first, listener.LocalEndpoint.Port, tls ? Client() : null, slow), TaskCreationOptions.LongRunning);
        Assert.True(Hang.WaitUntil(() => receiving.Status == TaskStatus.Running && listener.IsTls == tls, 10));
        await Task.Delay(200);
        MigrationException refused = await Assert.ThrowsAsync<MigrationException>(() => Task.Run(() =>
        {
            try
            {
                return MigrateTo(second, listener.LocalEndpoint.Port, tls ? Client() : null);
            }
            finally
            {
                secondTried.Set();
            }
        }));
        Assert.Contains("the destination is busy with another migration", refused.Message);

        MigrationResult sent = await migrating;
        (await receiving).Memory.Dispose();

        Assert.True(sent.ChecksumsMatch);
        lock (refusals)
        {
            Assert.Single(refusals);
            Assert.Contains("refused a connection from 127.0.0.1", refusals[0]);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ATricklingSourceIsDroppedAfterTheTimeout()
    {
        // A source that sends a valid stream one byte every 100 ms: no read ever waits out the 600 ms timeout,
        // but 4 KiB per 600 ms is never reached.
        byte[] stream;
        using (MigrationGuest guest = MigrationGuest.CreateSynthetic(1L << 20))
        using (var file = new MemoryStream())
        {
            new SourceMigration(guest, Parameters).Run(file);
            stream = file.ToArray();
        }

        (NetworkStream source, NetworkStream destination) = TcpTransport.CreateLoopbackPair(Io);
        using (source)
        using (destination)
        {
            using var stop = new CancellationTokenSource();
            Task trickling = Task.Run(async () =>
            {
                try
                {
                    // A valid stream, a byte at a time.
                    for (int i = 0; i < stream.Length && !stop.IsCancellationRequested; i++)
                    {
                        await Task.Delay(100);
                        source.Write(stream.AsSpan(i, 1));
                    }
                }
                catch (IOException)
                {
                    // Dropped.
                }
            });
            var clock = Stopwatch.StartNew();
            MigrationException dropped = Assert.Throws<MigrationException>(() => new DestinationMigration(new DestinationOptions { ReadTimeout = TimeSpan.FromMilliseconds(600) }).Run(destination));
            stop.Cancel();
            await trickling;
            Assert.Contains("the peer is trickling", dropped.Message);
            Assert.InRange(clock.Elapsed.TotalSeconds, 0.5, 8);
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task AStreamAnnouncingMoreRamThanAllowedIsRefusedNamingTheSizeOnBothSides()
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(32L << 20);
        using var listener = new MigrationListener("127.0.0.1", 0, Server(), Io);
        Task<Exception?> receiving = Task.Run(() =>
        {
            using Stream connection = listener.Accept();
            try
            {
                new DestinationMigration(new DestinationOptions { MaxRamBytes = 16L << 20, ReadTimeout = Io }).Run(connection).Memory.Dispose();
                return null;
            }
            catch (Exception e)
            {
                return e;
            }
        });
        MigrationException failed = await Assert.ThrowsAsync<MigrationException>(() => Task.Run(() => MigrateTo(guest, listener.LocalEndpoint.Port, Client())));
        Exception? refused = await receiving;
        Assert.IsType<MigrationException>(refused);
        foreach (string message in new[] { failed.Message, refused!.Message })
        {
            Assert.Contains("at most 16777216 bytes (16 MiB", message);
            Assert.Contains("found 33554432 bytes (32 MiB) announced by the source", message);
        }
    }
}
