using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// The single-stream mode's pages (<see cref="SourceMigration"/>): batches go to the <see cref="CompressionEngine"/>'s
/// workers, which check each page for zero where it is, copy a page with data and compress the copy; the results come
/// back in submission order and are written in that order on the stream as ZERO, COMPRESS_PAGE or PAGE records.
/// </summary>
/// <remarks>
/// Design: results are written in submission order, so the destination, which applies copies of one page in stream
/// order, always ends with the newest copy. Only the migration thread calls this (see <see cref="PageSender"/>).
/// </remarks>
internal sealed class StreamPageSender : PageSender
{
    /// <summary>Batches each compress worker may hold: one in work, one queued, two done and waiting to be written.</summary>
    private const int BatchesPerWorker = 4;

    private readonly MigrationParameters _parameters;
    private readonly MigrationStatistics _statistics;
    private readonly RamBlock[] _blocks;
    private CompressionEngine? _engine;
    private MigrationStreamWriter? _writer;
    private RateLimiter? _limiter;

    public StreamPageSender(PrecopyDriver driver)
    {
        _parameters = driver.Parameters;
        _statistics = driver.Statistics;
        _blocks = driver.Blocks;
    }

    public override int MaxBatchPages => CompressionEngineOptions.MaxBatchPages;

    public override string Name => "migration";

    public override int BusyThreads => _parameters.Compression.Method == CompressMethod.None ? 0 : _parameters.CompressThreads;

    public override void Open(MigrationStreamWriter writer, RateLimiter limiter, CancellationToken cancellationToken)
    {
        _writer = writer;
        _limiter = limiter;
        _engine = new CompressionEngine(new CompressionEngineOptions
        {
            Compression = _parameters.Compression,
            CompressThreads = _parameters.CompressThreads,
            CompressWaitThread = _parameters.CompressWaitThread,
            BatchPages = CompressionEngineOptions.MaxBatchPages,
            RingCapacity = BatchesPerWorker,
        });
    }

    public override void SendPages(int blockIndex, ReadOnlySpan<long> offsets)
    {
        CompressionEngine engine = _engine!;
        RamBlock block = _blocks[blockIndex];
        while (!engine.TrySubmit(block, offsets))
        {
            // Every worker holds its full credit: write the oldest batch to free one.
            WriteBatch(engine, engine.ReceiveBatch());
        }

        while (engine.TryReceiveBatch(out PageResultBatch ready))
        {
            WriteBatch(engine, ready);
        }
    }

    public override void EndSection()
    {
        CompressionEngine engine = _engine!;
        while (engine.InFlight > 0)
        {
            WriteBatch(engine, engine.ReceiveBatch());
        }
    }

    public override void Dispose() => _engine?.Dispose();

    private void WriteBatch(CompressionEngine engine, in PageResultBatch batch)
    {
        MigrationStreamWriter writer = _writer!;
        int blockIndex = IndexOf(batch.Block);
        long start = writer.Position;
        for (int i = 0; i < batch.Count; i++)
        {
            PageResult result = batch[i];
            long before = writer.Position;
            switch (result.Kind)
            {
                case PageResultKind.Zero:
                    writer.WriteZeroPage(blockIndex, result.Offset);
                    _statistics.AddZeroPage(writer.Position - before);
                    break;
                case PageResultKind.Compressed:
                    writer.WriteCompressedPage(blockIndex, result.Offset, result.Bytes);
                    _statistics.AddCompressedPage(writer.Position - before, result.Length);
                    break;
                default:
                    writer.WriteRawPage(blockIndex, result.Offset, result.Bytes);
                    _statistics.AddNormalPage(writer.Position - before);
                    break;
            }

            if (result.IsBusy)
            {
                // As QEMU's save_compress_page: every page no thread took is busy, a zero one too.
                _statistics.AddBusy();
            }
        }

        _limiter!.Record(writer.Position - start);
        engine.Release(in batch);
    }

    private int IndexOf(RamBlock block)
    {
        // A guest has one to a handful of blocks: a reference scan is cheaper than a dictionary.
        for (int i = 0; i < _blocks.Length; i++)
        {
            if (ReferenceEquals(_blocks[i], block))
            {
                return i;
            }
        }

        throw new InvalidOperationException($"RAM block '{block.Name}' is not part of this guest");
    }
}
