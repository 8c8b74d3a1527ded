namespace Engine.Cli.Analysis;

/// <summary>
/// What a measurement's compression pass found, page by page: each page's payload kept side by side (so decompression can be
/// timed apart from compression) or its kind (zero, raw), and the counts a <see cref="CodecMeasurement"/> reports.
/// </summary>
internal sealed class MeasuredPayloads
{
    /// <summary>The length of a zero page (no payload).</summary>
    public const int Zero = -1;

    /// <summary>The length of a page that went out raw (no payload).</summary>
    public const int Raw = -2;

    private readonly byte[] _payloads;
    private readonly int[] _lengths;

    /// <summary>Room for <paramref name="count"/> payloads of up to <paramref name="bound"/> bytes each.</summary>
    public MeasuredPayloads(int count, int bound)
    {
        Bound = bound;
        _payloads = GC.AllocateUninitializedArray<byte>(checked(count * bound), pinned: true);
        _lengths = new int[count];
    }

    /// <summary>The most bytes a payload may take.</summary>
    public int Bound { get; }

    public long ZeroPages { get; private set; }

    public long CompressedPages { get; private set; }

    public long RawPages { get; private set; }

    public long PayloadBytes { get; private set; }

    /// <summary>Page <paramref name="index"/>'s payload length, or <see cref="Zero"/> or <see cref="Raw"/>.</summary>
    public int LengthOf(int index) => _lengths[index];

    /// <summary>The <see cref="Bound"/> bytes page <paramref name="index"/>'s payload is written to.</summary>
    public Span<byte> Slot(int index) => _payloads.AsSpan(index * Bound, Bound);

    /// <summary>Page <paramref name="index"/>'s payload (when it has one).</summary>
    public ReadOnlySpan<byte> Payload(int index) => _payloads.AsSpan(index * Bound, _lengths[index]);

    public void AddZero(int index)
    {
        _lengths[index] = Zero;
        ZeroPages++;
    }

    /// <summary>Page <paramref name="index"/>'s payload of <paramref name="length"/> bytes is in its <see cref="Slot"/>.</summary>
    public void AddCompressed(int index, int length)
    {
        _lengths[index] = length;
        CompressedPages++;
        PayloadBytes += length;
    }

    public void AddRaw(int index)
    {
        _lengths[index] = Raw;
        RawPages++;
    }

    /// <summary>The measurement of <paramref name="candidate"/> on these pages.</summary>
    public CodecMeasurement ToMeasurement(CodecCandidate candidate, int threads, int decompressThreads, TimeSpan compressTime, TimeSpan decompressTime, bool verified)
        => new()
        {
            Candidate = candidate,
            Threads = threads,
            DecompressThreads = decompressThreads,
            Pages = _lengths.Length,
            ZeroPages = ZeroPages,
            CompressedPages = CompressedPages,
            RawPages = RawPages,
            PayloadBytes = PayloadBytes,
            CompressTime = compressTime,
            DecompressTime = decompressTime,
            Verified = verified,
        };
}
