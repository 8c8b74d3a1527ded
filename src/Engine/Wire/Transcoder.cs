using Engine.Codecs;
using Engine.Memory;
using Engine.Receive;

namespace Engine.Wire;

/// <summary>
/// <c>engine transcode</c>: re-encodes the RAM records of a migration stream with another method and level, and copies
/// everything else byte for byte (file header, configuration, commands, the block list, and everything after RAM's END:
/// device sections, EOF, VM description), so the output loads wherever the input did.
/// </summary>
/// <remarks>
/// Pages are decoded and re-encoded on <see cref="TranscodeOptions.CompressThreads"/> workers in batches and written in
/// the input's order by the calling thread. Zero pages stay zero pages; a page that does not shrink goes out raw.
/// XBZRLE deltas are passed through: re-encoding is lossless, so the page they apply to is the same at the destination.
/// Record headers are the writer's, so CONTINUE is decided afresh.
/// </remarks>
internal sealed partial class Transcoder : IDisposable
{
    // The most bytes after RAM's END kept to check their end in a live stream (device state is far smaller).
    private const long MaxCheckedTail = 64L << 20;

    private readonly TranscodeOptions _options;
    private readonly PageBatch _batch;
    private readonly CodecPool _decompressors;
    private readonly IPageCompressor?[] _compressors;
    private readonly byte[][] _pages;
    private readonly Action<int, int> _processSlot;

    /// <summary>Creates a transcoder; its workers' codecs are created once and reused for every stream.</summary>
    public Transcoder(TranscodeOptions? options = null)
    {
        _options = options ?? new TranscodeOptions();
        int threads = _options.CompressThreads;
        ThreadCounts.Check("compress-threads", threads);

        _batch = new PageBatch(PageBatch.DefaultCapacity, threads);
        _decompressors = new CodecPool(threads, _options.DecompressorFactory);
        _compressors = new IPageCompressor?[threads];
        if (_options.Settings.Method != CompressMethod.None)
        {
            Func<CompressionSettings, IPageCompressor> factory = _options.CompressorFactory ?? (s => PageCodecs.CreateCompressor(s));
            for (int i = 0; i < threads; i++)
            {
                _compressors[i] = factory(_options.Settings);
            }
        }

        _pages = new byte[threads][];
        for (int i = 0; i < threads; i++)
        {
            _pages[i] = new byte[PageSizes.PageSize];
        }

        _processSlot = ProcessSlot;
    }

    /// <summary>Transcodes the file <paramref name="inputPath"/> into <paramref name="outputPath"/>.</summary>
    /// <remarks>
    /// The output is written to <c>OUT.tmp</c> and renamed to <paramref name="outputPath"/> only when the whole input has
    /// been transcoded, so a failure part-way leaves neither a partial output nor a changed earlier file at that path.
    /// </remarks>
    public static TranscodeResult Transcode(string inputPath, string outputPath, TranscodeOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(inputPath);
        ArgumentException.ThrowIfNullOrEmpty(outputPath);
        using var transcoder = new Transcoder(options);
        using FileStream input = new(inputPath, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        string temporary = outputPath + ".tmp";
        try
        {
            TranscodeResult result;
            using (FileStream output = new(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
                result = transcoder.Transcode(input, output);
            }

            File.Move(temporary, outputPath, overwrite: true);
            return result;
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Cleaning up must not hide the error that made the transcode fail.
            }

            throw;
        }
    }

    /// <summary>Transcodes <paramref name="input"/> into <paramref name="output"/>; neither stream is disposed.</summary>
    /// <exception cref="MigrationStreamException">The input is malformed or one of its pages does not decompress.</exception>
    public TranscodeResult Transcode(Stream input, Stream output) => Transcode(input, output, null);

    /// <summary>
    /// Transcodes <paramref name="input"/> into <paramref name="output"/> with <paramref name="channels"/> (a multifd source's)
    /// as a second page source: the receive loop hands their pages over at each barrier, and they are written into the one
    /// output stream before the record that made the barrier (EOS per section, MULTIFD_FLUSH per round; at RAM's last EOS
    /// in per-round mode, once every channel has ended). <paramref name="onBlockList"/> sees the block list first (where
    /// the channels' memory is made). <paramref name="outputTarget"/>, when given, makes the loop's target from the writer, the
    /// result and the re-encoder (which it may hand the non-page items): a relay's multifd output.
    /// </summary>
    internal TranscodeResult Transcode(
        Stream input,
        Stream output,
        IChannelPages? channels,
        Action<IReadOnlyList<RamBlockInfo>>? onBlockList = null,
        Func<MigrationStreamWriter, TranscodeResult, IPageTarget, IPageTarget>? outputTarget = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        MigrationStreamReaderOptions baseOptions = _options.ReaderOptions ?? new MigrationStreamReaderOptions();
        var readerOptions = new MigrationStreamReaderOptions
        {
            StopAfterRamEnd = true,
            MaxTotalRamBytes = baseOptions.MaxTotalRamBytes,
            MaxVmDescriptionLength = baseOptions.MaxVmDescriptionLength,
            ExpectedCompressMethod = baseOptions.ExpectedCompressMethod,
            ReadTimeout = baseOptions.ReadTimeout,
            CancellationToken = baseOptions.CancellationToken,
            BufferSize = baseOptions.BufferSize,
        };

        var result = new TranscodeResult();
        using var reader = new MigrationStreamReader(input, readerOptions, leaveOpen: true);
        using var writer = new MigrationStreamWriter(output, leaveOpen: true);
        _batch.Clear();
        IPageTarget target = new ReencodeTarget(this, writer, result, onBlockList);
        if (outputTarget is not null)
        {
            target = outputTarget(writer, result, target);
        }

        var loop = new ReceiveLoop(reader, target, channels) { Progress = _options.Progress };
        loop.Run();
        if (!reader.IsRamComplete)
        {
            throw new MigrationStreamException(reader.Position, "expected the RAM section's END, found the end of the stream");
        }

        writer.Flush();
        long ramBytes = writer.Position;
        if (_options.Live)
        {
            // A live source that dies in the device state leaves a stream the destination cannot load: say so here.
            using var tail = new TailCapture(output, MaxCheckedTail);
            result.BytesCopiedAfterRam = reader.CopyRemainderTo(tail);
            if (tail.Kept && StreamTail.Classify(tail.Bytes) == StreamTail.Shape.Incomplete)
            {
                throw new MigrationStreamException(
                    reader.Position,
                    $"the input ended {result.BytesCopiedAfterRam} bytes after RAM's END without EOF (0x00) and the VM description: "
                    + "the device state is cut off (the source died or cancelled the migration)");
            }
        }
        else
        {
            result.BytesCopiedAfterRam = reader.CopyRemainderTo(output);
        }

        output.Flush();
        result.BytesRead = reader.Position;
        result.BytesWritten = ramBytes + result.BytesCopiedAfterRam;
        return result;
    }

    /// <summary>Disposes the workers' codecs.</summary>
    public void Dispose()
    {
        foreach (IPageCompressor? compressor in _compressors)
        {
            compressor?.Dispose();
        }

        _decompressors.Dispose();
    }

    private void FlushBatch(MigrationStreamWriter writer, TranscodeResult result)
    {
        if (_batch.Count == 0)
        {
            return;
        }

        _decompressors.Prepare(_batch);
        _batch.Run(_processSlot);
        for (int slot = 0; slot < _batch.Count; slot++)
        {
            int block = _batch.Blocks[slot];
            long offset = _batch.Offsets[slot];
            if (_batch.Kinds[slot] == MigrationItemKind.CompressedPage)
            {
                result.DecompressedPages++;
                DecompressStatus status = _batch.Statuses[slot];
                if (status != DecompressStatus.Ok)
                {
                    long at = _batch.StreamOffsets[slot];
                    CompressMethod method = _batch.Methods[slot];
                    _batch.Clear();
                    throw new MigrationStreamException(
                        at,
                        $"expected a {CompressionSettings.NameOf(method)} payload that decompresses to exactly one 4096-byte page "
                        + $"(block '{writer.Blocks[block].Name}', offset 0x{offset:X}), found: {status}");
                }
            }

            switch (_batch.OutputKinds[slot])
            {
                case MigrationItemKind.ZeroPage:
                    writer.WriteZeroPage(block, offset);
                    result.ZeroPages++;
                    break;
                case MigrationItemKind.RawPage:
                    writer.WriteRawPage(block, offset, _batch.Result(slot));
                    result.RawPages++;
                    break;
                default:
                    writer.WriteCompressedPage(block, offset, _batch.Result(slot));
                    result.CompressedPages++;
                    break;
            }
        }

        _batch.Clear();
    }

    private void ProcessSlot(int worker, int slot)
    {
        ReadOnlySpan<byte> page;
        bool pageIsInput;
        switch (_batch.Kinds[slot])
        {
            case MigrationItemKind.ZeroPage:
                _batch.OutputKinds[slot] = MigrationItemKind.ZeroPage;
                return;
            case MigrationItemKind.RawPage:
                page = _batch.Input(slot);
                pageIsInput = true;
                break;
            default:
                IPageDecompressor decompressor = _decompressors.Get(worker, _batch.Methods[slot]);
                DecompressStatus status = decompressor.Decompress(_batch.Input(slot), _pages[worker]);
                _batch.Statuses[slot] = status;
                if (status != DecompressStatus.Ok)
                {
                    return;
                }

                page = _pages[worker];
                pageIsInput = false;
                break;
        }

        if (ZeroPage.IsZero(page))
        {
            _batch.OutputKinds[slot] = MigrationItemKind.ZeroPage;
            return;
        }

        IPageCompressor? compressor = _compressors[worker];
        if (compressor is not null)
        {
            CompressResult compressed = compressor.Compress(page, _batch.OutputArea(slot), out int written);
            if (compressed == CompressResult.Compressed)
            {
                _batch.OutputKinds[slot] = MigrationItemKind.CompressedPage;
                _batch.OutputLengths[slot] = written;
                return;
            }

            if (compressed == CompressResult.DestinationTooSmall)
            {
                throw new InvalidOperationException("the compressor's bound exceeds Engine's largest compressed page");
            }
        }

        _batch.OutputKinds[slot] = MigrationItemKind.RawPage;
        if (pageIsInput)
        {
            _batch.OutputFromInput[slot] = true;
        }
        else
        {
            page.CopyTo(_batch.OutputArea(slot));
            _batch.OutputLengths[slot] = PageSizes.PageSize;
        }
    }
}
