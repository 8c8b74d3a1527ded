using System.Diagnostics.Metrics;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Diagnostics;
using Engine.Migration;
using Engine.Multifd;
using Engine.Tests.Multifd;
using Engine.Tests.Support;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Diagnostics;

/// <summary>
/// The meter as a listener sees it while a real migration runs over loopback TCP. In the engine-threads collection, so no
/// other test's migration runs meanwhile and the process totals move by this migration alone.
/// </summary>
public sealed class EngineMetricsTests : EngineTestBase
{
    private const long GuestBytes = 16L << 20;

    [Fact]
    public void AListenerSeesTheCountersMoveDuringAMigrationAndAgreeWithItsFinalStatistics()
    {
        Hang.Guard(120, () =>
        {
            using var recorder = new Recorder();
            recorder.Collect();
            Dictionary<string, long> before = recorder.Latest();

            var parameters = new MigrationParameters
            {
                Compression = CompressionSettings.Create(CompressMethod.Zstd, 1),
                CompressThreads = 2,
                DecompressThreads = 2,
                MaxBandwidth = 3L << 20, // a few seconds, so the listener sees it run
            };
            using MigrationGuest guest = MigrationGuest.CreateSynthetic(GuestBytes, new GuestWriterOptions { Threads = 1, PagesPerSecond = 2_000 });
            (NetworkStream sourceEnd, NetworkStream destinationEnd) = TcpTransport.CreateLoopbackPair(TimeSpan.FromSeconds(10));
            MigrationResult result;
            DestinationResult received;
            var running = new List<(long SentPages, long Active, long RamTotal)>();
            using (sourceEnd)
            using (destinationEnd)
            {
                var destination = new DestinationMigration(new DestinationOptions { Parameters = new MigrationParameters { DecompressThreads = 2, Compression = CompressionSettings.Create(CompressMethod.Zstd, 1) }, ReadTimeout = TimeSpan.FromSeconds(10) });
                Task<DestinationResult> incoming = Task.Factory.StartNew(() => destination.Run(destinationEnd), TaskCreationOptions.LongRunning);
                guest.StartWriters();
                var source = new SourceMigration(guest, parameters, new SourceMigrationOptions { RatePeriod = TimeSpan.FromMilliseconds(200) });
                Task<MigrationResult> outgoing = Task.Factory.StartNew(() => source.Run(sourceEnd), TaskCreationOptions.LongRunning);
                while (!outgoing.IsCompleted)
                {
                    recorder.Collect();
                    Dictionary<string, long> now = recorder.Latest();
                    running.Add((SentPages(now) - SentPages(before), Get(now, "engine.migration.active|engine.migration.direction=send"), Get(now, "engine.migration.ram.total|")));
                    Thread.Sleep(50);
                }

                result = outgoing.GetAwaiter().GetResult();
                received = incoming.GetAwaiter().GetResult();
            }

            using (received.Memory)
            {
                Assert.True(result.ChecksumsMatch);
                recorder.Collect();
                Dictionary<string, long> after = recorder.Latest();
                MigrationInfo info = result.Info;
                long pages = info.DuplicatePages + info.NormalPages + info.CompressedPages;

                // The counters moved while the migration ran: several growing values between none and all of its pages.
                (long SentPages, long Active, long RamTotal)[] live = running.Where(r => r.Active == 1).ToArray();
                long[] partial = live.Select(r => r.SentPages).Where(p => p > 0 && p < pages).Distinct().ToArray();
                Assert.True(partial.Length >= 3, $"partial page counts seen while running: {string.Join(", ", partial)} of {pages}");
                Assert.True(running.Zip(running.Skip(1)).All(p => p.Second.SentPages >= p.First.SentPages), "the page counter went backwards");
                Assert.Contains(live, r => r.RamTotal == GuestBytes);

                // And, once it ended, they agree with its final statistics.
                Assert.Equal(info.DuplicatePages, Delta("engine.migration.pages|engine.migration.direction=send,engine.page.kind=zero"));
                Assert.Equal(info.NormalPages, Delta("engine.migration.pages|engine.migration.direction=send,engine.page.kind=normal"));
                Assert.Equal(info.CompressedPages, Delta("engine.migration.pages|engine.migration.direction=send,engine.page.kind=compressed"));
                Assert.Equal(info.TransferredBytes, Delta("engine.migration.bytes|engine.migration.direction=send"));
                Assert.Equal(info.CompressionBusy, Delta("engine.migration.compression.busy|"));
                Assert.Equal(info.CompressedSizeBytes, Delta("engine.migration.compression.compressed_size|"));
                Assert.Equal(info.DirtySyncCount, Delta("engine.migration.iterations|"));
                Assert.True(info.CompressedPages > 0 && info.DuplicatePages > 0 && info.DirtySyncCount > 1, info.ToText());

                // The destination's, against what it received.
                Assert.Equal(received.ZeroPages, Delta("engine.migration.pages|engine.migration.direction=receive,engine.page.kind=zero"));
                Assert.Equal(received.RawPages, Delta("engine.migration.pages|engine.migration.direction=receive,engine.page.kind=normal"));
                Assert.Equal(received.CompressedPages, Delta("engine.migration.pages|engine.migration.direction=receive,engine.page.kind=compressed"));
                Assert.Equal(received.StreamBytes, Delta("engine.migration.bytes|engine.migration.direction=receive"));

                // The compression engine handled every page the source sent.
                long enginePages = Delta("engine.compression.pages|engine.page.kind=zero") + Delta("engine.compression.pages|engine.page.kind=normal") + Delta("engine.compression.pages|engine.page.kind=compressed");
                Assert.Equal(pages, enginePages);
                Assert.Equal(info.CompressedPages, Delta("engine.compression.pages|engine.page.kind=compressed"));

                // Nothing is running any more; one duration per side and the downtime were recorded, as the statistics say.
                Assert.Equal(0, Get(after, "engine.migration.active|engine.migration.direction=send"));
                Assert.Equal(0, Get(after, "engine.migration.active|engine.migration.direction=receive"));
                Assert.Equal(0, Get(after, "engine.compression.workers|"));
                (string Key, double Value) downtime = Assert.Single(recorder.Histograms, h => h.Key.StartsWith("engine.migration.downtime|", StringComparison.Ordinal));
                Assert.Equal(info.DowntimeMs!.Value / 1000.0, downtime.Value, 6);
                (string Key, double Value) sent = Assert.Single(recorder.Histograms, h => h.Key == "engine.migration.duration|engine.migration.direction=send,engine.migration.status=completed");
                Assert.Equal(info.TotalTimeMs / 1000.0, sent.Value, 6);
                Assert.Single(recorder.Histograms, h => h.Key == "engine.migration.duration|engine.migration.direction=receive,engine.migration.status=completed");

                // Every counter only ever grew.
                foreach ((string key, List<long> values) in recorder.CounterHistory)
                {
                    Assert.True(values.Zip(values.Skip(1)).All(p => p.Second >= p.First), $"{key} went backwards: {string.Join(", ", values)}");
                }

                long Delta(string key) => Get(after, key) - Get(before, key);
            }
        });
    }

    [Fact]
    public void AMultifdDestinationPublishesTheSameReceiveMetricsAsASingleStreamOne()
    {
        // Regression: MultifdDestination published no metrics (engine incoming --multifd-channels showed 0 throughout).
        Hang.Guard(60, () =>
        {
            using var recorder = new Recorder();
            recorder.Collect();
            Dictionary<string, long> before = recorder.Latest();
            DestinationResult received;
            using (var source = new FakeMultifdSource(new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd }))
            {
                QemuShapedMultifd.Send(source, 2, CompressMethod.Zstd);
                received = source.Incoming.GetAwaiter().GetResult();
            }

            using (received.Memory)
            {
                recorder.Collect();
                Dictionary<string, long> after = recorder.Latest();
                Assert.True(received.ZeroPages > 0 && received.CompressedPages > 0, $"{received.ZeroPages} zero, {received.CompressedPages} compressed");
                Assert.Equal(received.ZeroPages, Delta("engine.migration.pages|engine.migration.direction=receive,engine.page.kind=zero"));
                Assert.Equal(received.RawPages, Delta("engine.migration.pages|engine.migration.direction=receive,engine.page.kind=normal"));
                Assert.Equal(received.CompressedPages, Delta("engine.migration.pages|engine.migration.direction=receive,engine.page.kind=compressed"));
                Assert.Equal(received.StreamBytes, Delta("engine.migration.bytes|engine.migration.direction=receive"));
                Assert.Equal(0, Get(after, "engine.migration.active|engine.migration.direction=receive"));
                Assert.Single(recorder.Histograms, h => h.Key == "engine.migration.duration|engine.migration.direction=receive,engine.migration.status=completed");

                long Delta(string key) => Get(after, key) - Get(before, key);
            }
        });
    }

    [Fact]
    public void AFailedMigrationKeepsItsCountsInTheTotalsAndRecordsItsDurationAsFailed()
    {
        Hang.Guard(60, () =>
        {
            using var recorder = new Recorder();
            recorder.Collect();
            Dictionary<string, long> before = recorder.Latest();

            using MigrationGuest guest = MigrationGuest.CreateSynthetic(8L << 20);
            var source = new SourceMigration(guest, new MigrationParameters { CompressThreads = 2, MaxBandwidth = 0 });
            using var output = new FailingStream(failAfter: 1L << 20);
            Assert.Throws<MigrationException>(() => source.Run(output));

            recorder.Collect();
            Dictionary<string, long> after = recorder.Latest();
            MigrationInfo info = source.Statistics.Snapshot(source.NowMs);
            Assert.Equal(MigrationStatus.Failed, info.Status);
            Assert.True(info.TransferredBytes > 0);
            Assert.Equal(info.DuplicatePages, Get(after, "engine.migration.pages|engine.migration.direction=send,engine.page.kind=zero") - Get(before, "engine.migration.pages|engine.migration.direction=send,engine.page.kind=zero"));
            Assert.Equal(info.TransferredBytes, Get(after, "engine.migration.bytes|engine.migration.direction=send") - Get(before, "engine.migration.bytes|engine.migration.direction=send"));
            Assert.Equal(0, Get(after, "engine.migration.active|engine.migration.direction=send"));
            Assert.Single(recorder.Histograms, h => h.Key == "engine.migration.duration|engine.migration.direction=send,engine.migration.status=failed");
            Assert.DoesNotContain(recorder.Histograms, h => h.Key.StartsWith("engine.migration.downtime|", StringComparison.Ordinal));
        });
    }

    private static long SentPages(Dictionary<string, long> values)
        => values.Where(v => v.Key.StartsWith("engine.migration.pages|engine.migration.direction=send,", StringComparison.Ordinal)).Sum(v => v.Value);

    private static long Get(Dictionary<string, long> values, string key) => values.TryGetValue(key, out long v) ? v : 0;

    /// <summary>A write-only stream that fails once <paramref name="failAfter"/> bytes have been written: a connection that breaks.</summary>
    private sealed class FailingStream(long failAfter) : Stream
    {
        private long _written;

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => _written;

        public override long Position { get => _written; set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            _written += buffer.Length;
            if (_written > failAfter)
            {
                throw new IOException("the connection broke (test)");
            }
        }
    }

    /// <summary>A <see cref="MeterListener"/> on Engine's meter: the latest value of every series, and every histogram record.</summary>
    private sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Lock _lock = new();
        private readonly Dictionary<string, long> _latest = [];

        public Recorder()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == EngineMetrics.MeterName)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => OnLong(i, v, t));
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => OnLong(i, v, t));
            _listener.SetMeasurementEventCallback<double>(OnDouble);
            _listener.Start();
        }

        public List<(string Key, double Value)> Histograms { get; } = [];

        public Dictionary<string, List<long>> CounterHistory { get; } = [];

        public void Collect() => _listener.RecordObservableInstruments();

        public Dictionary<string, long> Latest()
        {
            lock (_lock)
            {
                return new Dictionary<string, long>(_latest);
            }
        }

        public void Dispose() => _listener.Dispose();

        private static string Key(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var parts = new List<string>();
            foreach (KeyValuePair<string, object?> tag in tags)
            {
                parts.Add($"{tag.Key}={tag.Value}");
            }

            parts.Sort(StringComparer.Ordinal);
            return $"{instrument.Name}|{string.Join(',', parts)}";
        }

        private void OnLong(Instrument instrument, long value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            string key = Key(instrument, tags);
            lock (_lock)
            {
                _latest[key] = value;
                if (instrument is ObservableCounter<long>)
                {
                    if (!CounterHistory.TryGetValue(key, out List<long>? history))
                    {
                        CounterHistory[key] = history = [];
                    }

                    history.Add(value);
                }
            }
        }

        private void OnDouble(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags, object? state)
        {
            if (instrument is Histogram<double>)
            {
                lock (_lock)
                {
                    Histograms.Add((Key(instrument, tags), value));
                }
            }
        }
    }
}
