using System.Net.Sockets;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Tests.Multifd;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary>
/// The source's checksums hashed chunk by chunk as the pages are sent (<c>SourceChecksums</c>, on the thread pool): the
/// value is always the one-pass <see cref="MemoryChecksum"/> of the memory at the pause, a chunk written after its hash
/// (or while it is hashed) is hashed again, in both wire modes. And the policy: while sending only with a core to spare
/// beside the sender's busy threads, else every chunk in the pass after the stream's end, with the same value.
/// </summary>
public sealed class SourceChecksumTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    private const int PagesPerChunk = MemoryChecksum.ChunkSize / PageSizes.PageSize;

    [Fact] // the pool's hashes are drained before each check
    public void AChunkIsHashedWhenPassedCleanAndAgainOnlyAfterThePauseWhenWrittenAfterItsHash()
    {
        // 40 MiB: chunks of 16, 16 and 8 MiB. The driver's walk is played by hand: batches of 128 pages from the start.
        using var block = new RamBlock("pc.ram", 40L << 20);
        new Random(11).NextBytes(block.GetSpan(0, 40 << 20));
        var bitmap = new DirtyBitmap(block.PageCount);
        bitmap.SetAll();
        var checksums = new SourceChecksums([block], [bitmap]);

        Send(checksums, bitmap, 0, PagesPerChunk);
        checksums.Drain();
        Assert.Equal(0, checksums.HashedWhileSending); // the cursor has not left chunk 0 yet
        Send(checksums, bitmap, PagesPerChunk, 128);
        checksums.Drain();
        Assert.Equal(1, checksums.HashedWhileSending);

        // A page of chunk 0 is written after its hash; the sync reports it: chunk 0 is stale, and not hashed again while
        // the guest runs, even when the cursor passes it clean.
        block.GetSpan(5 * PageSizes.PageSize, 8).Fill(0xA5);
        Assert.True(bitmap.MarkPending(5));
        checksums.Synced();
        Assert.Equal(1, checksums.Invalidated);
        Send(checksums, bitmap, PagesPerChunk + 128, (int)block.PageCount - PagesPerChunk - 128);
        Send(checksums, bitmap, 5, 1);
        checksums.AllSent();
        checksums.Drain();
        Assert.Equal(3, checksums.HashedWhileSending); // chunks 1 and 2

        // A chunk with a page still to send is not hashed when passed: chunk 1 gets a dirty page before the pause.
        block.GetSpan((PagesPerChunk + 9) * PageSizes.PageSize, 8).Fill(0x5A);
        Assert.True(bitmap.MarkPending(PagesPerChunk + 9));
        checksums.Synced();
        Assert.Equal(2, checksums.Invalidated);

        // Paused: the last round passes chunk 1 (its page sent) and hashes it again; chunk 0 (stale, nothing to send) is
        // hashed at the end.
        checksums.GuestPaused = true;
        Send(checksums, bitmap, PagesPerChunk + 9, 1);
        checksums.AllSent();
        checksums.Drain();
        Assert.Equal(4, checksums.HashedWhileSending);
        IReadOnlyList<BlockChecksum> result = checksums.Finish();
        Assert.Equal(1, checksums.HashedAtFinish);
        Assert.Equal(MemoryChecksum.Of(block), Assert.Single(result).Checksum);
        Assert.Equal("pc.ram", result[0].Name);
    }

    [Fact(Timeout = 30_000)]
    public async Task AHashStillRunningWhenASyncFindsItsChunkWrittenIsDropped()
    {
        // The sync may come before or after the pool's hash of chunk 0 ends: either way chunk 0 ends stale and is hashed
        // again at the end, so the write counts.
        using var block = new RamBlock("pc.ram", 32L << 20);
        new Random(13).NextBytes(block.GetSpan(0, 32 << 20));
        for (int round = 0; round < 20; round++)
        {
            var bitmap = new DirtyBitmap(block.PageCount);
            bitmap.SetAll();
            var checksums = new SourceChecksums([block], [bitmap]);
            Send(checksums, bitmap, 0, PagesPerChunk + 128); // chunk 0 passed: its hash starts on the pool
            block.GetSpan((round + 1) * PageSizes.PageSize, 8).Fill((byte)round);
            Assert.True(bitmap.MarkPending(round + 1));
            checksums.Synced();
            Assert.Equal(1, checksums.Invalidated);
            Send(checksums, bitmap, PagesPerChunk + 128, PagesPerChunk - 128);
            Send(checksums, bitmap, round + 1, 1);
            checksums.AllSent();
            IReadOnlyList<BlockChecksum> result = await Task.Run(checksums.Finish);

            // Chunk 1, and chunk 0's first hash only when it ended before the sync (it then counted, and the sync made the
            // chunk stale); a hash still running at the sync is dropped. Which one happens is the pool's timing.
            Assert.Equal(2, checksums.HashesStarted);
            Assert.InRange(checksums.HashedWhileSending, 1, 2);
            Assert.Equal(1, checksums.HashedAtFinish);
            Assert.Equal(MemoryChecksum.Of(block), result[0].Checksum);
        }
    }

    [Fact] // no thread, nothing to hang
    public void ChunksNeverPassedCleanAreHashedAtTheEndWithTheOnePassValue()
    {
        // Pages sent out of order (a bitmap re-dirtied behind the cursor) leave chunks unpassed: Finish hashes them all.
        using var block = new RamBlock("pc.ram", (33L << 20) + (3 * PageSizes.PageSize));
        new Random(12).NextBytes(block.GetSpan(0, (int)block.Size));
        var bitmap = new DirtyBitmap(block.PageCount);
        bitmap.SetAll();
        var checksums = new SourceChecksums([block], [bitmap]);
        Send(checksums, bitmap, 0, 100);
        IReadOnlyList<BlockChecksum> result = checksums.Finish();
        Assert.Equal(0, checksums.HashedWhileSending);
        Assert.Equal(3, checksums.HashedAtFinish);
        Assert.Equal(MemoryChecksum.Of(block), result[0].Checksum);
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AFrozenGuestIsHashedWhileSentWithTheOnePassValue(bool multifd)
    {
        // Two blocks, the second not a whole number of chunks; half the pages zero.
        var first = new RamBlock("pc.ram", 48L << 20);
        var second = new RamBlock("vga.vram", (20L << 20) + (5 * PageSizes.PageSize));
        Fill(first, 21);
        Fill(second, 22);
        using MigrationGuest guest = MigrationGuest.FromBlocks([first, second]);
        IReadOnlyList<BlockChecksum> onePass = MemoryChecksum.Of(guest.Memory);
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 };

        (MigrationResult source, DestinationResult destination, SourceChecksums checksums) = await Migrate(guest, parameters, multifd, null, whileSending: true);
        using (destination.Memory)
        {
            Assert.Equal(onePass, source.SourceChecksums);
            Assert.True(source.ChecksumsMatch, "the destination's checksums differ");
            Assert.Equal(onePass, destination.Checksums);

            // Every chunk was hashed as it was sent, none after: 3 + 2 chunks.
            Assert.Equal(5, checksums.HashedWhileSending);
            Assert.Equal(0, checksums.HashedAtFinish);
            Assert.Equal(0, checksums.Invalidated);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task ALiveGuestWritingChunksAfterTheirHashEndsWithTheOnePassValueAtThePause(bool multifd)
    {
        // 48 MiB at 24 MiB/s: chunk 0 is hashed after about 0.7 s, and a writer then keeps writing pages of chunk 0 (and
        // chunk 2) until the pause. The source's checksum must be the one-pass value of the memory at the pause.
        var memory = new GuestMemory();
        RamBlock block = memory.AddBlock("pc.ram", 48L << 20);
        Fill(block, 31);
        using var writer = new ChunkWriter(memory);
        using MigrationGuest guest = MigrationGuest.FromMemory(memory, writer.Log, writer);
        var parameters = new MigrationParameters { Compression = CompressionSettings.Create(CompressMethod.None, 0), CompressThreads = 2, MaxBandwidth = 24L << 20 };

        (MigrationResult source, DestinationResult destination, SourceChecksums checksums) = await Migrate(guest, parameters, multifd, writer.StartAfterFirstHash, whileSending: true);
        await writer.Stopped.WaitAsync(TimeSpan.FromSeconds(10));
        using (destination.Memory)
        {
            Assert.True(writer.Writes > 0, "the writer never wrote");
            Assert.True(checksums.Invalidated >= 1, "no chunk was found written after its hash");
            // Every hash begun counts here (HashesStarted): a hash a sync made stale while it ran is discarded, not counted
            // in HashedWhileSending, and the chunk is hashed again (while sending or at the end), so 3 chunks take at least
            // 4 hashes whenever one was invalidated (counting only the hashes that counted, 3 + 0, failed once in CI).
            Assert.True(checksums.HashesStarted + checksums.HashedAtFinish > 3, $"{checksums.HashesStarted} started + {checksums.HashedAtFinish} at the end: a stale chunk must be hashed again");

            // The guest is paused: its memory is what the source hashed and the destination holds.
            Assert.Equal(MemoryChecksum.Of(guest.Memory), source.SourceChecksums);
            Assert.True(source.ChecksumsMatch, "the destination's checksums differ");
            Assert.True(block.GetSpan(0, 48 << 20).SequenceEqual(destination.Memory.Blocks[0].GetSpan(0, 48 << 20)), "the destination's memory differs");
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false)]
    [InlineData(true)]
    public async Task WithoutASpareCoreEveryChunkIsHashedAfterTheStreamWithTheOnePassValue(bool multifd)
    {
        // The policy forced to "after": nothing hashed while sending, all 3 + 2 chunks in the pass at the end.
        var first = new RamBlock("pc.ram", 48L << 20);
        var second = new RamBlock("vga.vram", (20L << 20) + (5 * PageSizes.PageSize));
        Fill(first, 23);
        Fill(second, 24);
        using MigrationGuest guest = MigrationGuest.FromBlocks([first, second]);
        IReadOnlyList<BlockChecksum> onePass = MemoryChecksum.Of(guest.Memory);
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 };

        (MigrationResult source, DestinationResult destination, SourceChecksums checksums) = await Migrate(guest, parameters, multifd, null, whileSending: false);
        using (destination.Memory)
        {
            Assert.False(checksums.HashWhileSending);
            Assert.Equal(onePass, source.SourceChecksums);
            Assert.True(source.ChecksumsMatch, "the destination's checksums differ");
            Assert.Equal(0, checksums.HashedWhileSending);
            Assert.Equal(5, checksums.HashedAtFinish);
        }
    }

    [Theory(Timeout = 60_000)]
    [InlineData(false, CompressMethod.Zstd)]
    [InlineData(true, CompressMethod.Zstd)]
    [InlineData(false, CompressMethod.None)]
    [InlineData(true, CompressMethod.None)]
    public async Task ByDefaultChunksAreHashedWhileSendingOnlyWithACoreToSpare(bool multifd, CompressMethod method)
    {
        // As many compressing channels or workers as the machine has cores: no core to spare, so the pass after the
        // stream. Without compression the channels (or the stream) wait on their connections: hashed while sending.
        var block = new RamBlock("pc.ram", 40L << 20);
        Fill(block, 25);
        using MigrationGuest guest = MigrationGuest.FromBlocks([block]);
        int cores = Environment.ProcessorCount;
        var parameters = new MigrationParameters
        {
            Compression = CompressionSettings.Create(method, method == CompressMethod.None ? 0 : 1),
            CompressThreads = Math.Min(cores, MigrationParameters.MaxThreads),
            MaxBandwidth = 0,
        };
        bool expectWhileSending = method == CompressMethod.None || cores > MigrationParameters.MaxThreads;

        (MigrationResult source, DestinationResult destination, SourceChecksums checksums) = await Migrate(guest, parameters, multifd, null, whileSending: null, channels: Math.Min(cores, MigrationParameters.MaxThreads));
        using (destination.Memory)
        {
            Assert.Equal(expectWhileSending, checksums.HashWhileSending);
            Assert.Equal(MemoryChecksum.Of(guest.Memory), source.SourceChecksums);
            Assert.True(source.ChecksumsMatch, "the destination's checksums differ");
            Assert.Equal(expectWhileSending ? (0, 3) : (3, 0), (checksums.HashedAtFinish, checksums.HashedWhileSending));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task TheSourceHashesItsMemoryWhileTheDestinationHashesItsOwnNotAfterTheReply()
    {
        // A destination that reads the whole stream and sends its checksums only once the source's pass at the end has
        // hashed every chunk: the source must hash while it waits for the reply (before, the source hashed after the
        // checksums line came, and this destination would wait out its 10 s and fail the test).
        var block = new RamBlock("pc.ram", 40L << 20);
        Fill(block, 26);
        using MigrationGuest guest = MigrationGuest.FromBlocks([block]);
        IReadOnlyList<BlockChecksum> onePass = MemoryChecksum.Of(guest.Memory);
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 };
        var options = new SourceMigrationOptions { ReplyTimeout = IoTimeout, ChecksumWhileSending = false };
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            var single = new SourceMigration(guest, parameters, options);
            Task<bool> hashedBeforeReply = Task.Factory.StartNew(
                () =>
                {
                    byte[] buffer = new byte[1 << 20];
                    while (destinationEnd.Read(buffer) > 0)
                    {
                        // the whole stream, up to the source's shutdown of its sending side
                    }

                    MigrationReply.WriteReceived(destinationEnd);
                    var waited = System.Diagnostics.Stopwatch.StartNew();
                    while (single.Checksums.HashedAtFinish < 3 && waited.Elapsed < IoTimeout)
                    {
                        Thread.Sleep(1);
                    }

                    bool hashed = single.Checksums.HashedAtFinish == 3;
                    MigrationReply.WriteChecksums(destinationEnd, onePass);
                    return hashed;
                },
                TaskCreationOptions.LongRunning);
            MigrationResult result = await Task.Factory.StartNew(() => single.Run(sourceEnd), TaskCreationOptions.LongRunning);
            Assert.True(await hashedBeforeReply, "the source had not hashed its memory when the destination's checksums were due");
            Assert.Equal(onePass, result.SourceChecksums);
            Assert.True(result.ChecksumsMatch, "the checksums differ");
            Assert.Equal((0, 3), (single.Checksums.HashedWhileSending, single.Checksums.HashedAtFinish));
        }
    }

    [Fact(Timeout = 60_000)]
    public async Task ADestinationThatRefusesWhileTheSourceHashesFailsTheMigrationAfterTheHashEnded()
    {
        // The error line arrives while the source's pass runs: the migration fails with the destination's reason, and
        // the pass has ended when Run returns (the caller may free the memory next).
        var block = new RamBlock("pc.ram", 40L << 20);
        Fill(block, 27);
        using MigrationGuest guest = MigrationGuest.FromBlocks([block]);
        var parameters = new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 };
        var options = new SourceMigrationOptions { ReplyTimeout = IoTimeout, ChecksumWhileSending = false };
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            var single = new SourceMigration(guest, parameters, options);
            Task refuse = Task.Factory.StartNew(
                () =>
                {
                    byte[] buffer = new byte[1 << 20];
                    while (destinationEnd.Read(buffer) > 0)
                    {
                    }

                    MigrationReply.TryWriteError(destinationEnd, "refused by the test");
                },
                TaskCreationOptions.LongRunning);
            var e = await Assert.ThrowsAsync<MigrationException>(() => Task.Factory.StartNew(() => single.Run(sourceEnd), TaskCreationOptions.LongRunning));
            await refuse;
            Assert.Contains("refused by the test", e.Message, StringComparison.Ordinal);
            Assert.Equal(3, single.Checksums.HashedAtFinish); // ended before Run returned, not still running
        }
    }

    [Theory]
    [InlineData(2, 2, false)]
    [InlineData(2, 1, true)]
    [InlineData(2, 0, true)]
    [InlineData(1, 1, false)]
    [InlineData(4, 2, true)]
    [InlineData(8, 8, false)]
    public void TheSpareCoreRule(int cores, int busyThreads, bool whileSending)
        => Assert.Equal(whileSending, SourceChecksums.HashWhileSendingOn(cores, busyThreads));

    /// <summary>Hands pages <paramref name="start"/> to <paramref name="start"/> + <paramref name="count"/> over as the driver does.</summary>
    private static void Send(SourceChecksums checksums, DirtyBitmap bitmap, long start, int count)
    {
        for (long page = start; page < start + count; page += 128)
        {
            long last = Math.Min(page + 128, start + count) - 1;
            for (long p = page; p <= last; p++)
            {
                bitmap.TestAndClear(p);
            }

            checksums.Handed(0, page * PageSizes.PageSize, last * PageSizes.PageSize);
        }
    }

    /// <summary>Half the pages random, half zero, in runs of 8 pages.</summary>
    private static void Fill(RamBlock block, int seed)
    {
        var random = new Random(seed);
        for (long page = 0; page < block.PageCount; page++)
        {
            if ((page / 8) % 2 == 0)
            {
                random.NextBytes(block.GetSpan(page * PageSizes.PageSize, PageSizes.PageSize));
            }
        }
    }

    /// <summary>Migrates <paramref name="guest"/> over loopback in either wire mode to an Engine destination.</summary>
    private static async Task<(MigrationResult Source, DestinationResult Destination, SourceChecksums Checksums)> Migrate(
        MigrationGuest guest, MigrationParameters parameters, bool multifd, Action<Func<SourceChecksums>>? started, bool? whileSending, int channels = 2)
    {
        var options = new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(200), ChecksumWhileSending = whileSending };
        if (multifd)
        {
            MultifdSource? created = null;
            (MigrationResult result, DestinationResult received, MultifdSource source) = await MultifdLoopback.Migrate(
                guest, parameters, new MigrationParameters { MultifdChannels = channels, MultifdCompression = parameters.Compression.Method },
                serverTls: null, clientTls: null, options, started: s =>
                {
                    created = s;
                    started?.Invoke(() => s.Checksums);
                });
            Assert.Same(created, source);
            return (result, received, source.Checksums);
        }

        (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sourceEnd)
        using (destinationEnd)
        {
            var destination = new DestinationMigration(new DestinationOptions { Parameters = parameters, ReadTimeout = IoTimeout });
            Task<DestinationResult> incoming = Task.Factory.StartNew(() => destination.Run(destinationEnd), TaskCreationOptions.LongRunning);
            var single = new SourceMigration(guest, parameters, options);
            started?.Invoke(() => single.Checksums);
            MigrationResult result = await Task.Factory.StartNew(() => single.Run(sourceEnd), TaskCreationOptions.LongRunning);
            return (result, await incoming, single.Checksums);
        }
    }

    /// <summary>
    /// A guest's vCPU played by the test: once the source has started hashing a chunk, writes a page of chunk 0 or 2 every
    /// millisecond (bytes first, then the dirty log, as <see cref="IDirtyLog"/> asks) until the migration pauses it.
    /// </summary>
    private sealed class ChunkWriter : IGuestControl, IDisposable
    {
        private readonly RamBlock _block;
        private readonly Lock _gate = new();
        private readonly CancellationTokenSource _stop = new();
        private readonly TaskCompletionSource _stopped = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private bool _paused;
        private bool _started;
        private bool _disposed;
        private int _writes;

        public ChunkWriter(GuestMemory memory)
        {
            _block = memory.Blocks[0];
            Log = new DirtyPageLog(memory);
        }

        public DirtyPageLog Log { get; }

        public int Writes => Volatile.Read(ref _writes);

        public Task Stopped => _stopped.Task;

        public Exception? Failure => null;

        public void StartAfterFirstHash(Func<SourceChecksums> checksums)
        {
            _started = true;
            _ = Task.Factory.StartNew(() =>
            {
                try
                {
                    var random = new Random(41);
                    // From the first hash handed to the pool (not its end: on a loaded machine the pool may run it only
                    // after the pause): a write from then on is one after (or during) a chunk's hash.
                    while (checksums().HashesStarted == 0 && !_stop.IsCancellationRequested)
                    {
                        Thread.Sleep(1);
                    }

                    while (!_stop.IsCancellationRequested)
                    {
                        lock (_gate)
                        {
                            if (_paused)
                            {
                                return;
                            }

                            long chunk = random.Next(2) * 2;
                            long page = (chunk * PagesPerChunk) + random.Next(PagesPerChunk);
                            random.NextBytes(_block.GetSpan(page * PageSizes.PageSize, 64));
                            Log.MarkDirty(0, page * PageSizes.PageSize);
                            _writes++;
                        }

                        Thread.Sleep(1);
                    }
                }
                finally
                {
                    _stopped.TrySetResult();
                }
            }, TaskCreationOptions.LongRunning);
        }

        public void Pause()
        {
            lock (_gate)
            {
                _paused = true;
            }
        }

        public void Resume()
        {
            lock (_gate)
            {
                _paused = false;
            }
        }

        public void Throttle(double fraction)
        {
        }

        public void Dispose()
        {
            // Twice: the guest disposes its control, and so does the test.
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _stop.Cancel();
            if (_started)
            {
                _stopped.Task.Wait(TimeSpan.FromSeconds(10));
            }

            _stop.Dispose();
        }
    }
}
