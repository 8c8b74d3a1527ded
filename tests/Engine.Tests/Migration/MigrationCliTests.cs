using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Migration;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary><c>engine migrate</c> and <c>engine incoming</c> as two real processes: over TCP, through a file, and Ctrl-C on either side.</summary>
public sealed class MigrationCliTests
{
    private static readonly TimeSpan ProcessTimeout = TimeSpan.FromSeconds(60);

    /// <summary>How long a cancelled command may take to exit ("within a few seconds"; the runtime's start-up is not in it).</summary>
    private static readonly TimeSpan CancelLimit = TimeSpan.FromSeconds(5);

    [Fact] // every wait on the child processes has its own timeout
    public void MigrateAndIncomingBetweenTwoProcessesOverTcpWithSeveralBlocks()
    {
        using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0", "--json");
        int port = ListeningPort(incoming);
        using EngineProcess migrate = EngineProcess.Start(
            "migrate", "--to", $"tcp:127.0.0.1:{port}", "--guest", "synthetic:8M,vga.vram:1M", "--dirty-rate", "2000",
            "--compress-method", "zstd", "--compress-threads", "2", "--max-bandwidth", "0", "--json");

        Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
        Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
        using JsonDocument source = JsonDocument.Parse(migrate.StdOut);
        Assert.Equal("completed", source.RootElement.GetProperty("status").GetString());
        Assert.True(source.RootElement.GetProperty("checksums-equal").GetBoolean());
        using JsonDocument destination = JsonDocument.Parse(incoming.StdOut);
        string[] names = destination.RootElement.GetProperty("engine").GetProperty("blocks").EnumerateArray().Select(b => b.GetProperty("name").GetString()!).ToArray();
        Assert.Equal(["pc.ram", "vga.vram"], names);
    }

    [Fact] // every wait on the child processes has its own timeout
    public void MigrateToAFileAndRestoreItWithEqualChecksums()
    {
        string path = Path.Combine(Path.GetTempPath(), $"engine-migrate-{Guid.NewGuid():N}.stream");
        string images = Directory.CreateTempSubdirectory("engine-images-").FullName;
        string extracted = Path.Combine(Path.GetTempPath(), $"engine-extracted-{Guid.NewGuid():N}");
        try
        {
            using (EngineProcess migrate = EngineProcess.Start("migrate", "--to", $"file:{path}", "--guest", "synthetic:4M,vga.vram:512K", "--compress-threads", "2", "--max-bandwidth", "0"))
            {
                Assert.True(migrate.WaitForExit(ProcessTimeout) == 0, migrate.StdErr);
                Assert.Contains("verified when the file is restored", migrate.StdOut);
            }

            using EngineProcess incoming = EngineProcess.Start("incoming", "--from", $"file:{path}", "--save-images", images);
            Assert.True(incoming.WaitForExit(ProcessTimeout) == 0, incoming.StdErr);
            Assert.Contains("block vga.vram", incoming.StdOut);
            Assert.Contains("checksums: equal to the source's at the pause", incoming.StdOut);

            // Every block is saved, and each image equals what engine extract makes of the same stream.
            Assert.Equal(4L << 20, new FileInfo(Path.Combine(images, "pc.ram.raw")).Length);
            Assert.Equal(512L << 10, new FileInfo(Path.Combine(images, "vga.vram.raw")).Length);
            using (EngineProcess extract = EngineProcess.Start("extract", path, "--out", extracted))
            {
                Assert.True(extract.WaitForExit(ProcessTimeout) == 0, extract.StdErr);
            }

            foreach (string name in new[] { "pc.ram.raw", "vga.vram.raw" })
            {
                Assert.True(
                    File.ReadAllBytes(Path.Combine(images, name)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(extracted, name))),
                    $"{name}: the image incoming saved differs from engine extract's");
            }
        }
        finally
        {
            File.Delete(path);
            File.Delete(path + ".checksums.json");
            Directory.Delete(images, recursive: true);
            if (Directory.Exists(extracted))
            {
                Directory.Delete(extracted, recursive: true);
            }
        }
    }

    [Fact] // every wait on the child processes has its own timeout
    public void CtrlCStopsAListeningIncomingCleanly()
    {
        using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0");
        ListeningPort(incoming);
        AssertCancelsCleanly(incoming);
    }

    [Fact(Timeout = 60_000)]
    public async Task CtrlCStopsAnIncomingMidStreamAndTheSourceIsToldWhy()
    {
        using EngineProcess incoming = EngineProcess.Start("incoming", "--listen", "tcp:127.0.0.1:0");
        int port = ListeningPort(incoming);
        using NetworkStream sourceEnd = TcpTransport.Connect("127.0.0.1", port, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(32L << 20);
        var source = new SourceMigration(guest, new MigrationParameters { CompressThreads = 2, MaxBandwidth = 1L << 20 });
        Task<MigrationResult> migrating = Task.Factory.StartNew(() => source.Run(sourceEnd), TaskCreationOptions.LongRunning);
        while (source.Statistics.Transferred < (128 << 10) && !migrating.IsCompleted)
        {
            await Task.Delay(10);
        }

        AssertCancelsCleanly(incoming);
        MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => migrating);
        Assert.Contains("cancelled", failure.Message);
    }

    [Fact(Timeout = 60_000)]
    public async Task CtrlCStopsAMigrateMidStreamCleanly()
    {
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using EngineProcess migrate = EngineProcess.Start(
            "migrate", "--to", $"tcp:127.0.0.1:{port}", "--guest", "synthetic:32M", "--dirty-rate", "1000", "--max-bandwidth", "1M", "--compress-threads", "2");
        using NetworkStream destinationEnd = TcpTransport.Accept(listener, TimeSpan.FromSeconds(30), new CancellationTokenSource(TimeSpan.FromSeconds(30)).Token);
        var destination = new DestinationMigration(new DestinationOptions { ReadTimeout = TimeSpan.FromSeconds(30) });
        Task<DestinationResult> receiving = Task.Factory.StartNew(() => destination.Run(destinationEnd), TaskCreationOptions.LongRunning);
        await Task.Delay(500); // well into the first iterations: 1 MiB/s for a 32 MiB guest takes many seconds

        Assert.False(receiving.IsCompleted, "the migration ended before it could be interrupted");
        AssertCancelsCleanly(migrate);

        // The destination sees the stream end early and discards it, instead of waiting out its timeout.
        MigrationException discarded = await Assert.ThrowsAsync<MigrationException>(() => receiving);
        Assert.Contains("discarded", discarded.Message);
    }

    private static int ListeningPort(EngineProcess incoming)
    {
        string line = incoming.WaitForStdErrLine("listening on", TimeSpan.FromSeconds(30));
        return int.Parse(line[(line.LastIndexOf(':') + 1)..], CultureInfo.InvariantCulture);
    }

    private static void AssertCancelsCleanly(EngineProcess engine)
    {
        Assert.False(engine.IgnoresSigInt(), "the engine process ignores SIGINT (inherited from a test host started in the background): Ctrl-C cannot be tested");
        var clock = Stopwatch.StartNew();
        engine.Interrupt();
        int exitCode = engine.WaitForExit(TimeSpan.FromSeconds(30));
        TimeSpan took = clock.Elapsed;
        string stderr = engine.StdErr;
        Assert.True(exitCode == 130, $"exit code {exitCode}; stderr: {stderr}");
        Assert.Contains("engine: cancelled", stderr);
        Assert.DoesNotContain("   at ", stderr); // no stack trace
        Assert.DoesNotContain("Unhandled", stderr);
        Assert.True(took < CancelLimit, $"the command took {took.TotalMilliseconds:0} ms to exit after SIGINT");
    }
}
