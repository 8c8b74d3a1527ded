using Engine.Codecs;
using Engine.Tools;
using Engine.Wire;

namespace Engine.Fuzz;

/// <summary>
/// The <c>reader</c> target: the input is a whole migration stream. It is loaded twice, the ways Engine reads a stream:
/// <list type="number">
/// <item><see cref="RamStreamLoader"/> to the stream's end (EOF, VM description) into a <see cref="BoundedRamSink"/> that
/// decodes every page, the input arriving in short reads;</item>
/// <item><see cref="StreamInspector"/> (stop after RAM's END, skip the rest), the input arriving in one read.</item>
/// </list>
/// Each must parse or throw <see cref="MigrationStreamException"/> with an offset inside the input; when both parse they
/// must agree on what they read. Anything else is a finding.
/// </summary>
internal sealed class ReaderTarget : IFuzzTarget
{
    // Mixed sizes so that, over an input, items split at every kind of boundary: inside a header, a name, a payload.
    private static readonly int[] s_readSizes = { 1, 7, 2, 64, 3, 4096, 5, 300, 11, 1 << 20 };

    // Mapped-ram files are read too (their headers, bitmaps and the skip to each block's end); their pages are not loaded.
    private static readonly MigrationStreamReaderOptions s_loadOptions = new() { StopAfterRamEnd = false, AcceptMappedRam = true };

    private readonly BoundedRamSink _sink = new(new PageDecoder(CompressMethod.Zlib, strict: false));

    public string Name => "reader";

    public FuzzOutcome Run(ReadOnlyMemory<byte> input)
    {
        RamLoadCounts? counts = null;
        try
        {
            _sink.Reset();
            using var reader = new MigrationStreamReader(new ChunkedInputStream(input, s_readSizes), s_loadOptions);
            counts = RamStreamLoader.Load(reader, _sink);
        }
        catch (MigrationStreamException e)
        {
            CheckOffset(e, input.Length, "RamStreamLoader");
        }

        StreamSummary? summary = null;
        try
        {
            summary = StreamInspector.Inspect(new ChunkedInputStream(input, readSizes: null));
        }
        catch (MigrationStreamException e)
        {
            CheckOffset(e, input.Length, "StreamInspector");
        }

        if (counts is not null)
        {
            CheckAgreement(counts, summary, input.Length);
        }

        return counts is not null ? FuzzOutcome.Accepted : FuzzOutcome.Rejected;
    }

    private static void CheckOffset(MigrationStreamException e, int inputLength, string who)
    {
        // The offset names the bad field, or the end of a truncated stream; never a byte the input does not have.
        if (e.Offset < 0 || e.Offset > inputLength)
        {
            throw new FuzzContractException($"{who} reported byte offset {e.Offset} for a {inputLength}-byte input: {e.Message}");
        }
    }

    private static void CheckAgreement(RamLoadCounts counts, StreamSummary? summary, int inputLength)
    {
        if (!counts.RamComplete || counts.BytesRead != inputLength)
        {
            throw new FuzzContractException($"the loader accepted the stream with RamComplete={counts.RamComplete} after {counts.BytesRead} of {inputLength} bytes");
        }

        // The inspector checks a subset of what the loader checks (it stops at RAM's END and decodes nothing).
        if (summary is null)
        {
            throw new FuzzContractException("the loader accepted a stream the inspector rejected");
        }

        if (summary.Zero.Count != counts.ZeroPages
            || summary.Raw.Count != counts.RawPages
            || summary.Zlib.Count + summary.Zstd.Count != counts.CompressedPages
            || summary.Xbzrle.Count != counts.XbzrlePages
            || summary.EndOfSection.Count != counts.Sections
            || !summary.RamComplete
            || summary.TotalBytes != inputLength)
        {
            throw new FuzzContractException(
                $"loader and inspector disagree: zero {counts.ZeroPages}/{summary.Zero.Count}, raw {counts.RawPages}/{summary.Raw.Count}, "
                + $"compressed {counts.CompressedPages}/{summary.Zlib.Count + summary.Zstd.Count}, xbzrle {counts.XbzrlePages}/{summary.Xbzrle.Count}, "
                + $"sections {counts.Sections}/{summary.EndOfSection.Count}, inspector read {summary.TotalBytes} of {inputLength} bytes");
        }
    }
}
