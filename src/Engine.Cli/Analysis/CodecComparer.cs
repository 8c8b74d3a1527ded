using System.Diagnostics;
using Engine.Codecs;
using Engine.Memory;

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
        const int PageSize = PageSizes.PageSize;
        if (pages.Length % PageSize != 0)
        {
            throw new ArgumentException($"page data is {pages.Length} bytes, not a whole number of {PageSize}-byte pages", nameof(pages));
        }

        int count = pages.Length / PageSize;
        CompressMethod method = candidate.Settings.Method;
        using IPageCompressor? compressor = method == CompressMethod.None ? null : PageCodecs.CreateCompressor(candidate.Settings, candidate.Zlib);
        using IPageDecompressor? decompressor = method == CompressMethod.None ? null : PageCodecs.CreateDecompressor(method, candidate.Zlib);

        // Payloads are kept side by side so decompression can be timed apart from compression.
        int bound = compressor?.MaxCompressedLength ?? PageSize;
        byte[] payloads = GC.AllocateUninitializedArray<byte>(checked(count * bound), pinned: true);
        int[] lengths = new int[count];
        const int Zero = -1;
        const int Raw = -2;

        // Warm up the contexts so first-use costs stay out of the timing.
        Span<byte> scratch = stackalloc byte[PageSizes.MaxCompressedPage];
        ReadOnlySpan<byte> all = pages.Span;
        if (compressor is not null && count > 0)
        {
            for (int i = 0; i < Math.Min(count, 64); i++)
            {
                compressor.Compress(all.Slice(i * PageSize, PageSize), scratch, out _);
            }
        }

        long zero = 0, compressed = 0, raw = 0, payloadBytes = 0;
        long start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> page = all.Slice(i * PageSize, PageSize);
            if (ZeroPage.IsZero(page))
            {
                lengths[i] = Zero;
                zero++;
                continue;
            }

            if (compressor is not null
                && compressor.Compress(page, payloads.AsSpan(i * bound, bound), out int written) == CompressResult.Compressed)
            {
                lengths[i] = written;
                compressed++;
                payloadBytes += written;
            }
            else
            {
                lengths[i] = Raw;
                raw++;
            }
        }

        TimeSpan compressTime = Stopwatch.GetElapsedTime(start);

        byte[] restored = GC.AllocateUninitializedArray<byte>(pages.Length, pinned: true);
        bool ok = true;
        start = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            if (lengths[i] >= 0)
            {
                DecompressStatus status = decompressor!.Decompress(payloads.AsSpan(i * bound, lengths[i]), restored.AsSpan(i * PageSize, PageSize));
                ok &= status == DecompressStatus.Ok;
            }
        }

        TimeSpan decompressTime = Stopwatch.GetElapsedTime(start);

        // Verification is outside the timing: zero pages restore as zero, raw pages as themselves.
        for (int i = 0; i < count && ok; i++)
        {
            Span<byte> page = restored.AsSpan(i * PageSize, PageSize);
            if (lengths[i] == Zero)
            {
                page.Clear();
            }
            else if (lengths[i] == Raw)
            {
                all.Slice(i * PageSize, PageSize).CopyTo(page);
            }

            ok &= page.SequenceEqual(all.Slice(i * PageSize, PageSize));
        }

        return new CodecMeasurement
        {
            Candidate = candidate,
            Threads = 1,
            Pages = count,
            ZeroPages = zero,
            CompressedPages = compressed,
            RawPages = raw,
            PayloadBytes = payloadBytes,
            CompressTime = compressTime,
            DecompressTime = decompressTime,
            Verified = ok,
        };
    }
}
