using System.Diagnostics;
using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;

namespace Engine.Cli.Analysis;

/// <summary>
/// Measures a method and level through the multi-thread engines: the pages go into a RAM block, <see cref="CompressionEngine"/>
/// compresses them on <c>compress-threads</c> workers, <see cref="DecompressionEngine"/> restores them on
/// <c>decompress-threads</c> workers into a second RAM block, and the two blocks are compared byte for byte.
/// </summary>
internal static class EngineComparer
{
    /// <summary>Measures one candidate on <paramref name="pages"/> (a whole number of 4096-byte pages).</summary>
    public static CodecMeasurement Measure(CodecCandidate candidate, ReadOnlyMemory<byte> pages, int compressThreads, int decompressThreads)
    {
        const int PageSize = PageCodecs.PageSize;
        if (pages.Length % PageSize != 0 || pages.Length == 0)
        {
            throw new ArgumentException($"page data is {pages.Length} bytes, not a whole, non-zero number of {PageSize}-byte pages", nameof(pages));
        }

        var compressOptions = new CompressionEngineOptions
        {
            Compression = candidate.Settings,
            CompressThreads = compressThreads,
            Zlib = candidate.Zlib,
        };
        compressOptions.Validate();
        CompressMethod method = candidate.Settings.Method;
        var decompressOptions = new DecompressionEngineOptions
        {
            DecompressThreads = decompressThreads,
            Method = method == CompressMethod.None ? CompressMethod.Zlib : method,
            Zlib = candidate.Zlib,
        };
        decompressOptions.Validate();

        int count = pages.Length / PageSize;
        using var source = new GuestMemory();
        using var destination = new GuestMemory();
        RamBlock from = source.AddBlock("pc.ram", pages.Length);
        RamBlock to = destination.AddBlock("pc.ram", pages.Length);
        pages.Span.CopyTo(from.GetSpan(0, pages.Length));

        // What the single writer would put on the wire, kept so decompression can be timed apart from compression.
        var payloads = new MeasuredPayloads(count, PageCodecs.MaxCompressedPage);

        TimeSpan compressTime;
        using (var engine = new CompressionEngine(compressOptions))
        {
            long start = Stopwatch.GetTimestamp();

            // The engine's public loop, as a host's writer runs it: submit; when every worker's credit is taken, take the
            // oldest result first; keep whatever is ready; at the end, wait for every page in flight. Results come in page order.
            for (long offset = 0; offset < from.Size; offset += PageSize)
            {
                while (!engine.TrySubmit(from, offset))
                {
                    Keep(engine, engine.Receive(), payloads);
                }

                while (engine.TryReceive(out PageResult ready))
                {
                    Keep(engine, ready, payloads);
                }
            }

            while (engine.InFlight > 0)
            {
                Keep(engine, engine.Receive(), payloads);
            }

            compressTime = Stopwatch.GetElapsedTime(start);
        }

        TimeSpan decompressTime;
        using (var engine = new DecompressionEngine(decompressOptions))
        {
            ReadOnlySpan<byte> all = pages.Span;
            long start = Stopwatch.GetTimestamp();
            for (int i = 0; i < count; i++)
            {
                long offset = (long)i * PageSize;
                if (payloads.LengthOf(i) >= 0)
                {
                    engine.SubmitCompressed(to, offset, payloads.Payload(i));
                }
                else if (payloads.LengthOf(i) == MeasuredPayloads.Zero)
                {
                    engine.SubmitZero(to, offset);
                }
                else
                {
                    engine.SubmitRaw(to, offset, all.Slice(i * PageSize, PageSize));
                }
            }

            engine.WaitForDone();
            decompressTime = Stopwatch.GetElapsedTime(start);
        }

        bool verified = from.GetSpan(0, pages.Length).SequenceEqual(to.GetSpan(0, pages.Length));
        return payloads.ToMeasurement(candidate, compressThreads, decompressThreads, compressTime, decompressTime, verified);
    }

    /// <summary>Records one result as the single writer would put it on the wire, then gives its bytes back to the engine.</summary>
    private static void Keep(CompressionEngine engine, in PageResult r, MeasuredPayloads payloads)
    {
        int index = (int)(r.Offset / PageCodecs.PageSize);
        switch (r.Kind)
        {
            case PageResultKind.Zero:
                payloads.AddZero(index);
                break;
            case PageResultKind.Compressed:
                r.Bytes.CopyTo(payloads.Slot(index));
                payloads.AddCompressed(index, r.Length);
                break;
            default:
                payloads.AddRaw(index);
                break;
        }

        engine.Release(in r);
    }
}
