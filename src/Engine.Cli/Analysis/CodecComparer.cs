using System.Diagnostics;
using Engine.Codecs;

namespace Engine.Cli.Analysis;

/// <summary>
/// Measures methods and levels on a set of pages, single-threaded: zero check, compress, then decompress and verify every page.
/// This is what <c>engine compare</c> runs; per-operation costs with statistical rigour live in the benchmarks.
/// </summary>
internal static class CodecComparer
{
    /// <summary>Measures one candidate on <paramref name="pages"/> (a whole number of 4096-byte pages).</summary>
    public static CodecMeasurement Measure(CodecCandidate candidate, ReadOnlyMemory<byte> pages)
    {
        const int PageSize = PageCodecs.PageSize;
        if (pages.Length % PageSize != 0)
        {
            throw new ArgumentException($"page data is {pages.Length} bytes, not a whole number of {PageSize}-byte pages", nameof(pages));
        }

        int count = pages.Length / PageSize;
        CompressMethod method = candidate.Settings.Method;
        using IPageCompressor? compressor = method == CompressMethod.None ? null : PageCodecs.CreateCompressor(candidate.Settings, candidate.Zlib);
        using IPageDecompressor? decompressor = method == CompressMethod.None ? null : PageCodecs.CreateDecompressor(method, candidate.Zlib);

        // Payloads are kept side by side so decompression can be timed apart from compression.
        var payloads = new MeasuredPayloads(count, compressor?.MaxCompressedLength ?? PageSize);

        // Warm up the contexts so first-use costs stay out of the timing.
        Span<byte> scratch = stackalloc byte[PageCodecs.MaxCompressedPage];
        ReadOnlySpan<byte> all = pages.Span;
        if (compressor is not null && count > 0)
        {
            for (int i = 0; i < Math.Min(count, 64); i++)
            {
                compressor.Compress(all.Slice(i * PageSize, PageSize), scratch, out _);
            }
        }

        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> page = all.Slice(i * PageSize, PageSize);
            if (PageCodecs.IsZeroPage(page))
            {
                payloads.AddZero(i);
                continue;
            }

            if (compressor is not null && compressor.Compress(page, payloads.Slot(i), out int written) == CompressResult.Compressed)
            {
                payloads.AddCompressed(i, written);
            }
            else
            {
                payloads.AddRaw(i);
            }
        }

        TimeSpan compressTime = Stopwatch.GetElapsedTime(start);

        byte[] restored = GC.AllocateUninitializedArray<byte>(pages.Length, pinned: true);
        bool ok = true;
        start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            if (payloads.LengthOf(i) >= 0)
            {
                DecompressStatus status = decompressor!.Decompress(payloads.Payload(i), restored.AsSpan(i * PageSize, PageSize));
                ok &= status == DecompressStatus.Ok;
            }
        }

        TimeSpan decompressTime = Stopwatch.GetElapsedTime(start);

        // Verification is outside the timing: zero pages restore as zero, raw pages as themselves.
        for (int i = 0; i < count && ok; i++)
        {
            Span<byte> page = restored.AsSpan(i * PageSize, PageSize);
            if (payloads.LengthOf(i) == MeasuredPayloads.Zero)
            {
                page.Clear();
            }
            else if (payloads.LengthOf(i) == MeasuredPayloads.Raw)
            {
                all.Slice(i * PageSize, PageSize).CopyTo(page);
            }

            ok &= page.SequenceEqual(all.Slice(i * PageSize, PageSize));
        }

        return payloads.ToMeasurement(candidate, threads: 1, decompressThreads: 0, compressTime, decompressTime, ok);
    }
}
