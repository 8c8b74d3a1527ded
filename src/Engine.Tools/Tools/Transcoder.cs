using Engine.Codecs;
using Engine.Memory;
using Engine.Receive;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>
/// <c>engine transcode</c>: re-encodes the RAM records of a migration stream with another method and level, and copies
/// everything else byte for byte (file header, configuration, commands, the block list, and everything after RAM's END:
/// device sections, EOF, VM description), so the output loads wherever the input did.
/// </summary>
/// <remarks>
/// Pages are decoded by the calling thread and re-encoded by a <see cref="StreamPageEncoder"/> (the
/// <see cref="Pipeline.CompressionEngine"/> on <see cref="TranscodeOptions.CompressThreads"/> workers), which writes them in
/// the input's order. Zero pages stay zero pages; a page that does not shrink goes out raw.
/// XBZRLE deltas are passed through: re-encoding is lossless, so the page they apply to is the same at the destination.
/// Record headers are the writer's, so CONTINUE is decided afresh.
/// </remarks>
public sealed partial class Transcoder : IDisposable
{
    // The most bytes after RAM's END kept to check their end in a live stream (device state is far smaller).
    private const long MaxCheckedTail = 64L << 20;

    private readonly TranscodeOptions _options;
    private readonly byte[] _page = new byte[PageSizes.PageSize];
    private readonly PagePayloadDecoder _decoder;
    private StreamPageEncoder? _encoder;

    /// <summary>Creates a transcoder and starts its encoder's workers; they are reused for every stream.</summary>
    public Transcoder(TranscodeOptions? options = null)
    {
        _options = options ?? new TranscodeOptions();
        _decoder = new PagePayloadDecoder(_options.DecompressorFactory);
        _encoder = CreateEncoder();
    }

    /// <summary>The encoder the next stream goes through (a new one after a failure stopped the last). For tests.</summary>
    internal StreamPageEncoder Encoder => _encoder ??= CreateEncoder();

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
        return OutputFile.WriteThenRename(outputPath, output => transcoder.Transcode(input, output), flushToDisk: false);
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
        MigrationStreamReaderOptions readerOptions = baseOptions with { StopAfterRamEnd = true, AcceptMappedRam = false };

        var result = new TranscodeResult();
        using var reader = new MigrationStreamReader(input, readerOptions, leaveOpen: true);
        using var writer = new MigrationStreamWriter(output, leaveOpen: true);
        StreamPageEncoder encoder = Encoder;
        try
        {
            encoder.Start(writer);
            IPageTarget target = new ReencodeTarget(this, encoder, writer, result, onBlockList);
            if (outputTarget is not null)
            {
                target = outputTarget(writer, result, target);
            }

            var loop = new ReceiveLoop(reader, target, channels) { Progress = _options.Progress };
            loop.Run();
            encoder.Flush();
        }
        catch
        {
            // The engine may hold pages of this stream, or have stopped on a failure: the next stream gets a new one.
            _encoder = null;
            encoder.Dispose();
            throw;
        }

        // Added: a relay's multifd output target counts the pages it sent itself, into the same result.
        result.ZeroPages += encoder.ZeroPages;
        result.RawPages += encoder.RawPages;
        result.CompressedPages += encoder.CompressedPages;
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

    /// <summary>Stops the encoder's workers and disposes the codecs.</summary>
    public void Dispose()
    {
        _encoder?.Dispose();
        _encoder = null;
        _decoder.Dispose();
    }

    private StreamPageEncoder CreateEncoder() => new(_options.Settings, _options.CompressThreads, _options.CompressorFactory);

    /// <summary>Decodes a compressed page on the calling thread and adds it to <paramref name="encoder"/>.</summary>
    private void AddCompressedPage(StreamPageEncoder encoder, MigrationStreamWriter writer, TranscodeResult result, int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
    {
        result.DecompressedPages++;
        _decoder.Decode(method, payload, _page, writer.Blocks[block].Name, offset, streamOffset);

        encoder.AddPage(block, offset, _page);
    }
}
