using System.Globalization;
using Engine.Codecs;
using Engine.Memory;
using Xunit;
using Xunit.Abstractions;

namespace Engine.Tests.Codecs;

/// <summary>
/// The contract every page codec keeps. Each codec runs it through a <see cref="CodecAdapter"/> in a derived class.
/// </summary>
public abstract class PageCodecContractTests
{
    private readonly ITestOutputHelper _output;

    protected PageCodecContractTests(ITestOutputHelper output)
    {
        _output = output;
    }

    public static TheoryData<string> PageNames => new(TestPages.Names);

    protected abstract CodecAdapter Adapter { get; }

    [Theory]
    [MemberData(nameof(PageNames))]
    public void RoundTripsEveryPageKind(string pageName)
    {
        byte[] page = TestPages.Create(pageName);
        using IPageCompressor compressor = Adapter.CreateCompressor(Adapter.DefaultLevel);
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        byte[] destination = new byte[compressor.MaxCompressedLength];

        CompressResult result = compressor.Compress(page, destination, out int written);

        if (pageName == "random")
        {
            Assert.Equal(CompressResult.SendRaw, result);
            Assert.Equal(0, written);
            return;
        }

        Assert.Equal(CompressResult.Compressed, result);
        Assert.InRange(written, 1, PageSizes.PageSize - 1);
        AssertDecodesTo(decompressor, destination.AsSpan(0, written), page);
    }

    [Fact]
    public void RoundTripsAtEveryValidLevel()
    {
        // Pages that shrink at any level, and pages that shrink at ordinary levels but may go raw at zstd's fastest ones.
        byte[][] alwaysShrink = [TestPages.Create("zero"), TestPages.Create("sparse", 7), TestPages.Create("same-0xAB")];
        byte[][] shrinkAtOrdinaryLevels = [TestPages.Create("text", 7), TestPages.Create("binary", 7)];
        byte[] random = TestPages.Create("random", 7);
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        byte[] destination = new byte[PageSizes.MaxCompressedPage];

        foreach (int level in Adapter.ValidLevels)
        {
            using IPageCompressor compressor = Adapter.CreateCompressor(level);
            Assert.Equal(Adapter.Method, compressor.Method);
            Assert.Equal(level, compressor.Level);

            // zlib level 0 stores: a stored page (4096 bytes plus framing) never shrinks, so it always goes raw.
            bool stores = Adapter.Method == CompressMethod.Zlib && level == 0;
            foreach (byte[] page in alwaysShrink.Concat(shrinkAtOrdinaryLevels))
            {
                CompressResult result = compressor.Compress(page, destination, out int written);
                if (stores)
                {
                    Assert.Equal(CompressResult.SendRaw, result);
                    continue;
                }

                bool mustShrink = level > 0 || alwaysShrink.Contains(page);
                if (result == CompressResult.SendRaw && !mustShrink)
                {
                    continue;
                }

                Assert.True(result == CompressResult.Compressed, $"level {level}: a compressible page went {result}");
                AssertDecodesTo(decompressor, destination.AsSpan(0, written), page);
            }

            Assert.Equal(CompressResult.SendRaw, compressor.Compress(random, destination, out _));
        }
    }

    [Fact]
    public void RejectsEveryInvalidLevelNamingMethodLevelAndRange()
    {
        string method = CompressionSettings.NameOf(Adapter.Method);
        foreach (int level in Adapter.InvalidLevels)
        {
            EngineParameterException e = Assert.Throws<EngineParameterException>(() => Adapter.CreateCompressor(level).Dispose());
            Assert.Equal("compress-level", e.Parameter);
            Assert.Contains(method, e.Message, StringComparison.Ordinal);
            Assert.Contains(level.ToString(CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
            Assert.Contains("accepted", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void MaxCompressedLengthIsTheMethodsBound()
    {
        using IPageCompressor compressor = Adapter.CreateCompressor(Adapter.DefaultLevel);
        Assert.Equal(PayloadFormat.BoundOf(Adapter.Method), compressor.MaxCompressedLength);
    }

    [Fact]
    public void WorstCasePagesFitTheBoundAtEveryLevel()
    {
        // The destination is exactly the bound, guarded on both sides. Native zlib and libzstd are given exactly that room,
        // and fail loudly (an exception here) if a payload needed more; the canaries catch a write past it.
        var destination = new GuardedPage(PayloadFormat.BoundOf(Adapter.Method));
        byte[][] pages = [TestPages.Create("random", 3), TestPages.Create("random", 4)];
        foreach (int level in Adapter.ValidLevels)
        {
            using IPageCompressor compressor = Adapter.CreateCompressor(level);
            foreach (byte[] page in pages)
            {
                Assert.Equal(CompressResult.SendRaw, compressor.Compress(page, destination.Span, out int written));
                Assert.Equal(0, written);
                destination.AssertCanariesIntact();
            }
        }
    }

    [Fact]
    public void CompressedPayloadsStayWithinTheBound()
    {
        using IPageCompressor compressor = Adapter.CreateCompressor(Adapter.DefaultLevel);
        var destination = new GuardedPage(PayloadFormat.BoundOf(Adapter.Method));
        byte[] mix = PageMix.CreateMix(64, 5);
        for (int i = 0; i < 64; i++)
        {
            CompressResult result = compressor.Compress(mix.AsSpan(i * PageSizes.PageSize, PageSizes.PageSize), destination.Span, out int written);
            Assert.True(result != CompressResult.DestinationTooSmall);
            Assert.InRange(written, 0, PageSizes.PageSize - 1);
            destination.AssertCanariesIntact();
        }
    }

    [Fact]
    public void ReportsDestinationTooSmallAndWritesNothing()
    {
        using IPageCompressor compressor = Adapter.CreateCompressor(Adapter.DefaultLevel);
        byte[] page = TestPages.Create("zero");
        foreach (int length in new[] { 0, 1, PageSizes.PageSize - 1, compressor.MaxCompressedLength - 1 })
        {
            byte[] destination = new byte[length];
            destination.AsSpan().Fill(0xEE);

            Assert.Equal(CompressResult.DestinationTooSmall, compressor.Compress(page, destination, out int written));
            Assert.Equal(0, written);
            Assert.True(destination.AsSpan().IndexOfAnyExcept((byte)0xEE) < 0, $"wrote into a {length}-byte destination");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(PageSizes.PageSize - 1)]
    [InlineData(PageSizes.PageSize + 1)]
    [InlineData(2 * PageSizes.PageSize)]
    public void RejectsPagesOfTheWrongLength(int length)
    {
        using IPageCompressor compressor = Adapter.CreateCompressor(Adapter.DefaultLevel);
        byte[] destination = new byte[PageSizes.MaxCompressedPage];
        ArgumentException e = Assert.Throws<ArgumentException>(() => compressor.Compress(new byte[length], destination, out _));
        Assert.Contains(length.ToString(CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EmptyPayloadIsEmpty()
    {
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage();
        Assert.Equal(DecompressStatus.Empty, decompressor.Decompress(ReadOnlySpan<byte>.Empty, page.Span));
        page.AssertCanariesIntact();
    }

    [Fact]
    public void PayloadLongerThanTheBoundIsTooLong()
    {
        byte[] payload = ValidPayload();
        byte[] oversized = new byte[PayloadFormat.BoundOf(Adapter.Method) + 1];
        payload.CopyTo(oversized, 0);
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage();

        byte[] huge = new byte[100_000];
        payload.CopyTo(huge, 0);

        Assert.Equal(DecompressStatus.TooLong, decompressor.Decompress(oversized, page.Span));
        Assert.Equal(DecompressStatus.TooLong, decompressor.Decompress(huge, page.Span));
        page.AssertCanariesIntact();
    }

    [Fact]
    public void PageSmallerThanAPageIsDestinationTooSmall()
    {
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage(PageSizes.PageSize - 1);
        Assert.Equal(DecompressStatus.DestinationTooSmall, decompressor.Decompress(ValidPayload(), page.Span));
        page.AssertCanariesIntact();
    }

    [Fact]
    public void WritesOnlyTheFirstPageOfALargerSpan()
    {
        byte[] original = TestPages.Create("text", 11);
        byte[] payload = Compress(original);
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage(3 * PageSizes.PageSize, writable: PageSizes.PageSize);

        Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(payload, page.Span));
        Assert.True(page.Written.SequenceEqual(original));
        page.AssertCanariesIntact();
    }

    [Fact]
    public void BitFlipsNeverCrashNorWriteOutsideThePage()
    {
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage(2 * PageSizes.PageSize, writable: PageSizes.PageSize);
        int flips = 0;
        int detected = 0;
        foreach (string pageName in new[] { "text", "binary", "sparse" })
        {
            byte[] original = TestPages.Create(pageName, 21);
            byte[] payload = Compress(original);
            for (int position = 0; position < payload.Length; position++)
            {
                foreach (int bit in new[] { position % 8, (position + 3) % 8 })
                {
                    payload[position] ^= (byte)(1 << bit);
                    page.Reset();
                    DecompressStatus status = decompressor.Decompress(payload, page.Span);
                    payload[position] ^= (byte)(1 << bit);

                    page.AssertCanariesIntact();
                    Assert.True(Enum.IsDefined(status) && status is not (DecompressStatus.Empty or DecompressStatus.DestinationTooSmall), $"{status}");
                    flips++;
                    if (status != DecompressStatus.Ok)
                    {
                        detected++;
                    }
                    else if (Adapter.Checksummed)
                    {
                        // A flip zlib accepts (a padding bit, an unused header bit) must not change the page: Adler-32.
                        Assert.True(page.Written.SequenceEqual(original), $"{pageName}: flipping bit {bit} of byte {position} went undetected");
                    }
                }
            }

            // The intact payload still decodes after all that: no state leaks from one bad payload to the next.
            page.Reset();
            Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(payload, page.Span));
            Assert.True(page.Written.SequenceEqual(original));
        }

        // zlib's Adler-32 catches every flip that would change the page (asserted above). A zstd frame carries no checksum
        // unless asked to (QEMU's series does not ask), so a flip inside literals can decode to a different page: containment
        // is all it promises, and the rate is reported.
        _output.WriteLine($"{Adapter.Name}: {detected} of {flips} single-bit flips detected");
        Assert.True(detected > 0, "no flip was detected at all");
    }

    [Fact]
    public void GarbageAfterAValidHeaderFailsCleanly()
    {
        // Random bytes behind the method's own first bytes: they pass detection and reach the decoder proper.
        byte[] header = ValidPayload().AsSpan(0, Adapter.Method == CompressMethod.Zstd ? 5 : 2).ToArray();
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage(2 * PageSizes.PageSize, writable: PageSizes.PageSize);
        var random = new Random(1234);
        for (int i = 0; i < 500; i++)
        {
            byte[] payload = new byte[header.Length + random.Next(PayloadFormat.BoundOf(Adapter.Method) - header.Length)];
            random.NextBytes(payload);
            header.CopyTo(payload, 0);

            DecompressStatus status = decompressor.Decompress(payload, page.Span);

            Assert.True(status is DecompressStatus.Corrupt or DecompressStatus.WrongSize, $"{payload.Length} random bytes gave {status}");
            page.AssertCanariesIntact();
        }
    }

    [Fact]
    public void TruncationAtEveryLengthFailsCleanly()
    {
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage(2 * PageSizes.PageSize, writable: PageSizes.PageSize);
        foreach (string pageName in new[] { "text", "zero" })
        {
            byte[] payload = Compress(TestPages.Create(pageName, 5));
            for (int length = 0; length < payload.Length; length++)
            {
                DecompressStatus status = decompressor.Decompress(payload.AsSpan(0, length), page.Span);
                Assert.True(status != DecompressStatus.Ok, $"{pageName}: a payload cut to {length} of {payload.Length} bytes decoded");
                page.AssertCanariesIntact();
            }
        }
    }

    [Fact]
    public void BytesAfterTheStreamAreCorrupt()
    {
        byte[] payload = ValidPayload();
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage();
        Assert.Equal(DecompressStatus.Corrupt, decompressor.Decompress([.. payload, 0], page.Span));
        Assert.Equal(DecompressStatus.Corrupt, decompressor.Decompress([.. payload, .. payload], page.Span));
        page.AssertCanariesIntact();
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2048)]
    [InlineData(PageSizes.PageSize - 1)]
    [InlineData(PageSizes.PageSize + 1)]
    [InlineData(2 * PageSizes.PageSize)]
    [InlineData(1 << 20)]
    public void StreamsOfAnyOtherSizeAreWrongSizeAndStayInThePage(int size)
    {
        // Compressible content, so even large streams fit the bound and reach the decoder.
        byte[] data = new byte[size];
        data.AsSpan().Fill(0x5A);
        byte[] payload = Independent.Compress(Adapter.Method, data);
        Assert.InRange(payload.Length, 1, PayloadFormat.BoundOf(Adapter.Method));
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage(2 * PageSizes.PageSize, writable: PageSizes.PageSize);

        Assert.Equal(DecompressStatus.WrongSize, decompressor.Decompress(payload, page.Span));
        page.AssertCanariesIntact();
    }

    [Fact]
    public void PayloadOfTheOtherMethodIsWrongMethodOrDecodes()
    {
        byte[] original = TestPages.Create("text", 9);
        byte[] payload = Independent.Compress(Adapter.OtherMethod, original);
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage();

        DecompressStatus status = decompressor.Decompress(payload, page.Span);

        page.AssertCanariesIntact();
        if (Adapter.RejectsOtherMethod)
        {
            Assert.Equal(DecompressStatus.WrongMethod, status);
        }
        else
        {
            Assert.Equal(DecompressStatus.Ok, status);
            Assert.True(page.Written.SequenceEqual(original));
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x00 })]
    [InlineData(new byte[] { 0x78 })]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F })]
    [InlineData(new byte[] { 0x1F, 0x8B, 0x08, 0x00, 0x00, 0x00 })]
    [InlineData(new byte[] { 0x50, 0x2A, 0x4D, 0x18, 0x00, 0x00, 0x00, 0x00 })]
    [InlineData(new byte[] { 0x78, 0x9D, 0x01, 0x02 })]
    public void UnrecognisedPayloadIsUnknownFormat(byte[] payload)
    {
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var page = new GuardedPage();
        Assert.Equal(DecompressStatus.UnknownFormat, decompressor.Decompress(payload, page.Span));
        page.AssertCanariesIntact();
    }

    [Fact]
    public void AllocatesNothingPerPageOnceWarm()
    {
        const int WarmUpRounds = 4;
        const int MeasuredRounds = 10;
        const int Attempts = 3;
        byte[] mix = PageMix.CreateMix(64, 77);
        using IPageCompressor compressor = Adapter.CreateCompressor(Adapter.DefaultLevel);
        using IPageDecompressor decompressor = Adapter.CreateDecompressor();
        var round = new AllocationRound(compressor, decompressor, mix);

        for (int i = 0; i < WarmUpRounds; i++)
        {
            round.Run();
        }

        // A real per-page allocation shows in every attempt. The runtime may, rarely, charge a few bytes of its own to the
        // thread (tiering, a GC's bookkeeping); an allocation-free codec therefore needs one clean attempt out of three.
        for (int attempt = 1; attempt <= Attempts; attempt++)
        {
            round.Reset();
            for (int i = 0; i < MeasuredRounds; i++)
            {
                round.Run();
            }

            double perPageCompress = (double)round.CompressBytes / round.Compressions;
            double perPageDecompress = (double)round.DecompressBytes / round.Decompressions;
            _output.WriteLine(
                $"{Adapter.Name}, level {Adapter.DefaultLevel}, page mix: {perPageCompress:F0} B allocated per page compressed, " +
                $"{perPageDecompress:F0} B per page decompressed (attempt {attempt})");
            if (!Adapter.AllocationFree)
            {
                // What the library allocates (see SharpZipLibPageCompressor's remarks); a budget, so a regression shows.
                Assert.InRange(perPageCompress, 0, 12 * 1024);
                Assert.InRange(perPageDecompress, 0, 8 * 1024);
                return;
            }

            if (round.CompressBytes == 0 && round.DecompressBytes == 0)
            {
                return;
            }
        }

        Assert.Fail($"{Adapter.Name} allocated in every one of {Attempts} attempts: {round.CompressBytes} B compressing, {round.DecompressBytes} B decompressing");
    }

    private static void AssertDecodesTo(IPageDecompressor decompressor, ReadOnlySpan<byte> payload, byte[] expected)
    {
        var page = new GuardedPage();
        Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(payload, page.Span));
        Assert.True(page.Written.SequenceEqual(expected), "the decompressed page differs from the original");
        page.AssertCanariesIntact();
    }

    private byte[] Compress(byte[] page)
    {
        using IPageCompressor compressor = Adapter.CreateCompressor(Adapter.DefaultLevel);
        return TestPages.Compress(compressor, page);
    }

    private byte[] ValidPayload() => Compress(TestPages.Create("text", 3));
}
