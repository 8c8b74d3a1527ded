using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;

namespace Engine.Wire;

/// <summary>
/// The one encoder of every tool that writes a stream's pages (<c>Tools/Transcoder</c>, the relay, the destination's
/// checkpoint): pages are compressed on a <see cref="CompressionEngine"/>'s workers and written to a
/// <see cref="MigrationStreamWriter"/> in exactly the order they were added, zero pages included.
/// </summary>
/// <remarks>
/// <para>
/// Design: one thread (the caller) adds, and the same thread writes; the engine's workers only compress. A page that is
/// bytes in the caller's hands (a record just read, a page just decompressed) is copied into a slot of the staging block,
/// a ring of pages the engine reads from; a page that already lies in a <see cref="RamBlock"/> the caller keeps unchanged
/// until <see cref="Flush"/> (a destination's final memory) is handed over where it is. Pages go to the engine a batch
/// of up to <see cref="BatchPages"/> at a time (one source block per batch), so the caller pays one hand-off per batch,
/// and it reads and writes while the workers compress (no barrier per batch, unlike the <c>Parallel.For</c> batches this
/// replaced). A staging slot is reused only after its page has been written, which is after the engine gave it back.
/// </para>
/// <para>
/// Order: every page added, and every zero page added (<see cref="AddZero"/>, no work for a worker), takes the next entry
/// of the order ring; results come back from the engine in submission order, so writing the ring from its head, taking
/// the next result for each page entry, writes the records in the order they were added. A record sent twice (a page
/// dirtied again) therefore stays behind its earlier copy, and the output is the same whatever the thread count.
/// </para>
/// <para>
/// Failures: a worker's failure surfaces at the caller's next call as the engine's <see cref="PageException"/>, naming
/// the stream's block and offset (not the staging slot's). After any failure the encoder is not used again: dispose it.
/// </para>
/// </remarks>
internal sealed class StreamPageEncoder : IDisposable
{
    /// <summary>Pages per hand-off to a worker: 32 pages (128 KiB) amortise the hand-off and the caller's wait.</summary>
    public const int BatchPages = 32;

    /// <summary>Batches each worker may hold: enough that workers do not starve while the caller writes a batch.</summary>
    private const int RingCapacity = 8;

    /// <summary>The most staged pages: 16 MiB whatever the thread count.</summary>
    private const int MaxStagedPages = 4096;

    private const string StagingName = "engine.encoder-staging";

    private readonly CompressionEngine _engine;
    private readonly RamBlock _staging;
    private readonly int _stagingPages;
    private readonly int[] _slotBlocks;
    private readonly long[] _slotOffsets;
    private readonly long[] _batchOffsets = new long[BatchPages];
    private readonly Entry[] _entries;
    private readonly long _entryMask;
    private MigrationStreamWriter? _writer;
    private RamBlock? _batchSource;
    private int _batchCount;
    private long _head;
    private long _tail;
    private long _staged;
    private long _stagedWritten;

    /// <summary>Starts the engine's workers.</summary>
    /// <param name="settings">The output's method and level; <see cref="CompressMethod.None"/> writes zero and raw pages.</param>
    /// <param name="threads">Compress workers, 1 to 255 (checked).</param>
    /// <param name="compressorFactory">Creates each worker's compressor for <paramref name="settings"/>; null for the default.</param>
    public StreamPageEncoder(CompressionSettings settings, int threads, Func<CompressionSettings, IPageCompressor>? compressorFactory = null)
    {
        ThreadCounts.Check("compress-threads", threads);
        int inFlight = threads * RingCapacity * BatchPages;
        _stagingPages = Math.Max(2 * BatchPages, Math.Min(inFlight + BatchPages, MaxStagedPages));
        _slotBlocks = new int[_stagingPages];
        _slotOffsets = new long[_stagingPages];

        // Every page in the engine or the batch being filled, plus as many zero pages again between them.
        int entries = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(2 * (inFlight + BatchPages)));
        _entries = new Entry[entries];
        _entryMask = entries - 1;

        _staging = new RamBlock(StagingName, (long)_stagingPages << PageSizes.PageShift, hugePages: false);
        try
        {
            _engine = new CompressionEngine(
                new CompressionEngineOptions
                {
                    Compression = settings,
                    CompressThreads = threads,
                    BatchPages = BatchPages,
                    RingCapacity = RingCapacity,
                },
                compressorFactory is null ? null : () => compressorFactory(settings));
        }
        catch
        {
            _staging.Dispose();
            throw;
        }
    }

    /// <summary>The engine (for tests: its threads and buffers after a failure).</summary>
    internal CompressionEngine Engine => _engine;

    /// <summary>Zero records written since <see cref="Start"/>.</summary>
    public long ZeroPages { get; private set; }

    /// <summary>Raw page records written since <see cref="Start"/>.</summary>
    public long RawPages { get; private set; }

    /// <summary>Compressed page records written since <see cref="Start"/>.</summary>
    public long CompressedPages { get; private set; }

    /// <summary>Writes the pages added from now on to <paramref name="writer"/>, and counts them afresh.</summary>
    public void Start(MigrationStreamWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (_head != _tail || _batchCount != 0)
        {
            throw new InvalidOperationException("the encoder still holds pages of an earlier stream: flush it first");
        }

        _writer = writer;
        ZeroPages = 0;
        RawPages = 0;
        CompressedPages = 0;
    }

    /// <summary>Adds a zero page of the writer's block <paramref name="block"/>.</summary>
    public void AddZero(int block, long offset)
    {
        if (_head == _tail)
        {
            // Nothing ahead of it: written at once, with no entry.
            Writer.WriteZeroPage(block, offset);
            ZeroPages++;
            return;
        }

        Append(block, offset, zero: true);
    }

    /// <summary>Adds a page of the writer's block <paramref name="block"/> whose bytes are <paramref name="page"/> (copied now).</summary>
    public void AddPage(int block, long offset, ReadOnlySpan<byte> page)
    {
        while (_staged - _stagedWritten == _stagingPages)
        {
            WriteOldest();
        }

        int slot = (int)(_staged % _stagingPages);
        long stagingOffset = (long)slot << PageSizes.PageShift;
        page.CopyTo(_staging.GetPage(stagingOffset));
        _slotBlocks[slot] = block;
        _slotOffsets[slot] = offset;
        _staged++;
        AddToBatch(_staging, stagingOffset, block, offset, staged: true);
    }

    /// <summary>
    /// Adds the page at <paramref name="offset"/> of <paramref name="source"/>, written as the page at the same offset of
    /// the writer's block <paramref name="block"/>. A worker reads it later: it must not change before <see cref="Flush"/>.
    /// </summary>
    public void AddPage(int block, RamBlock source, long offset)
    {
        ArgumentNullException.ThrowIfNull(source);
        AddToBatch(source, offset, block, offset, staged: false);
    }

    /// <summary>Writes every page added so far (QEMU's flush at a section's end).</summary>
    public void Flush()
    {
        SubmitBatch();
        while (_engine.InFlight > 0)
        {
            ReceiveAndWrite();
        }

        WriteLeadingZeros();
    }

    /// <summary>Stops the workers (pages not written are dropped) and frees the staging block.</summary>
    public void Dispose()
    {
        try
        {
            _engine.Dispose();
        }
        finally
        {
            _staging.Dispose();
        }
    }

    private MigrationStreamWriter Writer => _writer ?? throw new InvalidOperationException("the encoder has no writer: call Start first");

    private void AddToBatch(RamBlock source, long sourceOffset, int block, long offset, bool staged)
    {
        if (_batchCount > 0 && !ReferenceEquals(source, _batchSource))
        {
            SubmitBatch();
        }

        Append(block, offset, zero: false, staged);
        _batchSource = source;
        _batchOffsets[_batchCount++] = sourceOffset;
        if (_batchCount == BatchPages)
        {
            SubmitBatch();
        }
    }

    private void Append(int block, long offset, bool zero, bool staged = false)
    {
        while (_tail - _head == _entries.Length)
        {
            WriteOldest();
        }

        _entries[_tail & _entryMask] = new Entry(block, offset, zero, staged);
        _tail++;
    }

    private void SubmitBatch()
    {
        if (_batchCount == 0)
        {
            return;
        }

        try
        {
            // False: every worker's credit is taken; the oldest batch is ahead of this one in the ring, so write it.
            while (!_engine.TrySubmit(_batchSource!, _batchOffsets.AsSpan(0, _batchCount)))
            {
                ReceiveAndWrite();
            }
        }
        catch (PageException e) when (e.BlockName == StagingName)
        {
            throw Renamed(e);
        }

        _batchCount = 0;
        _batchSource = null;
    }

    /// <summary>Makes room: writes the oldest batch (submitting the one being filled if nothing else is in flight).</summary>
    private void WriteOldest()
    {
        if (_engine.InFlight == 0)
        {
            SubmitBatch();
        }

        if (_engine.InFlight == 0)
        {
            WriteLeadingZeros();
            return;
        }

        ReceiveAndWrite();
    }

    private void ReceiveAndWrite()
    {
        PageResultBatch results;
        try
        {
            results = _engine.ReceiveBatch();
        }
        catch (PageException e) when (e.BlockName == StagingName)
        {
            throw Renamed(e);
        }

        try
        {
            MigrationStreamWriter writer = Writer;
            for (int i = 0; i < results.Count;)
            {
                Entry entry = _entries[_head & _entryMask];
                _head++;
                if (entry.Zero)
                {
                    writer.WriteZeroPage(entry.Block, entry.Offset);
                    ZeroPages++;
                    continue;
                }

                PageResult result = results[i++];
                switch (result.Kind)
                {
                    case PageResultKind.Zero:
                        writer.WriteZeroPage(entry.Block, entry.Offset);
                        ZeroPages++;
                        break;
                    case PageResultKind.Compressed:
                        writer.WriteCompressedPage(entry.Block, entry.Offset, result.Bytes);
                        CompressedPages++;
                        break;
                    default:
                        writer.WriteRawPage(entry.Block, entry.Offset, result.Bytes);
                        RawPages++;
                        break;
                }

                if (entry.Staged)
                {
                    _stagedWritten++;
                }
            }
        }
        finally
        {
            _engine.Release(in results);
        }
    }

    /// <summary>Writes the zero pages at the head of the ring (those with no page ahead of them).</summary>
    private void WriteLeadingZeros()
    {
        while (_head != _tail && _entries[_head & _entryMask].Zero)
        {
            Entry entry = _entries[_head & _entryMask];
            Writer.WriteZeroPage(entry.Block, entry.Offset);
            ZeroPages++;
            _head++;
        }
    }

    /// <summary>A worker's failure on a staged page, named by the stream's block and offset rather than the staging slot.</summary>
    private PageException Renamed(PageException e)
    {
        int slot = (int)(e.Offset >> PageSizes.PageShift);
        int block = _slotBlocks[slot];
        string name = _writer is { } writer && (uint)block < (uint)writer.Blocks.Count ? writer.Blocks[block].Name : $"block {block}";
        return new PageException(name, _slotOffsets[slot], e.Reason, e.Status, e.InnerException);
    }

    /// <summary>One record in the order it was added: a page whose result the engine gives back, or a zero page.</summary>
    private readonly record struct Entry(int Block, long Offset, bool Zero, bool Staged);
}
