using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

/// <summary>zstd-specific promises: one complete frame per page, levels reach libzstd as given, every frame shape decodes safely.</summary>
public sealed class ZstdFrameTests
{
    [Fact]
    public void EachPageIsOneCompleteFrameThatStatesItsContentSize()
    {
        using var compressor = new ZstdPageCompressor(3);
        byte[] payload = TestPages.Compress(compressor, TestPages.Create("text", 2));

        Assert.True(PayloadFormat.IsZstdFrame(payload));
        Assert.Equal((ulong)PageSizes.PageSize, ContentSize(payload));
        Assert.Equal((nuint)payload.Length, FrameSize(payload));
    }

    [Fact]
    public void LevelsReachLibzstdUnclamped()
    {
        // If ZstdNet clamped or ignored levels, distant levels would give frames of the same size.
        byte[] page = TestPages.Create("sparse", 4);
        int Size(int level)
        {
            using var compressor = new ZstdPageCompressor(level);
            return TestPages.Compress(compressor, page).Length;
        }

        int fastest = Size(CompressionSettings.ZstdMinLevel);
        int fast = Size(-1);
        int best = Size(CompressionSettings.ZstdMaxLevel);
        Assert.True(fastest > fast, $"-100 gave {fastest} bytes, -1 gave {fast}");
        Assert.True(fast > best, $"-1 gave {fast} bytes, 22 gave {best}");
    }

    [Theory]
    [InlineData(-100)]
    [InlineData(-7)]
    [InlineData(-1)]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(9)]
    [InlineData(19)]
    [InlineData(22)]
    public void OurFramesDecodeWithZstdSharpAndTheirsWithOurs(int level)
    {
        using var compressor = new ZstdPageCompressor(level);
        using var decompressor = new ZstdPageDecompressor();
        byte[] destination = new byte[compressor.MaxCompressedLength];
        foreach (string name in TestPages.Compressible)
        {
            byte[] page = TestPages.Create(name, 13);

            // At the fastest levels text and code may not shrink; those pages go raw and have no frame to check.
            CompressResult result = compressor.Compress(page, destination, out int written);
            Assert.True(result == CompressResult.Compressed || level < 0, $"{name} went {result}");
            if (result == CompressResult.Compressed)
            {
                Assert.Equal(page, Independent.ZstdDecompress(destination.AsSpan(0, written)));
            }

            byte[] theirs = Independent.ZstdCompress(page, level);
            byte[] decoded = new byte[PageSizes.PageSize];
            Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(theirs, decoded));
            Assert.Equal(page, decoded);
        }
    }

    [Fact]
    public void FrameWithoutContentSizeDecodes()
    {
        byte[] page = TestPages.Create("binary", 6);
        byte[] payload = Independent.ZstdCompressWithoutContentSize(page);
        Assert.Equal(Interop.ZSTD_CONTENTSIZE_UNKNOWN, ContentSize(payload));
        using var decompressor = new ZstdPageDecompressor();
        var target = new GuardedPage();

        Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(payload, target.Span));
        Assert.True(target.Written.SequenceEqual(page));
        target.AssertCanariesIntact();
    }

    [Theory]
    [InlineData(PageSizes.PageSize - 1)]
    [InlineData(PageSizes.PageSize + 1)]
    [InlineData(3 * PageSizes.PageSize)]
    [InlineData(1 << 20)]
    public void FrameWithoutContentSizeOfAnotherSizeIsWrongSizeAndStaysInThePage(int size)
    {
        byte[] data = new byte[size];
        data.AsSpan().Fill(0x33);
        byte[] payload = Independent.ZstdCompressWithoutContentSize(data);
        Assert.Equal(Interop.ZSTD_CONTENTSIZE_UNKNOWN, ContentSize(payload));
        using var decompressor = new ZstdPageDecompressor();
        var target = new GuardedPage(2 * PageSizes.PageSize, writable: PageSizes.PageSize);

        Assert.Equal(DecompressStatus.WrongSize, decompressor.Decompress(payload, target.Span));
        target.AssertCanariesIntact();
    }

    [Fact]
    public void FrameWithAChecksumIsVerified()
    {
        byte[] page = TestPages.Create("text", 8);
        using var compressor = new ZstdSharp.Compressor(3);
        compressor.SetParameter(ZstdSharp.Unsafe.ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        byte[] payload = compressor.Wrap(page).ToArray();
        using var decompressor = new ZstdPageDecompressor();
        byte[] decoded = new byte[PageSizes.PageSize];

        Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(payload, decoded));
        Assert.Equal(page, decoded);

        payload[^1] ^= 0x01;
        Assert.Equal(DecompressStatus.Corrupt, decompressor.Decompress(payload, decoded));
    }

    [Fact]
    public void EveryFlipInTheFrameHeaderIsDetectedOrHarmless()
    {
        // Magic (4 bytes), frame header descriptor, and the first content-size byte.
        const int HeaderBytes = 6;

        // The descriptor's bit 4 is "unused": the format tells decoders to ignore it, so flipping it changes nothing.
        const int UnusedBit = (4 * 8) + 4;
        byte[] page = TestPages.Create("text", 8);
        byte[] payload;
        using (var compressor = new ZstdPageCompressor(1))
        {
            payload = TestPages.Compress(compressor, page);
        }

        using var decompressor = new ZstdPageDecompressor();
        var target = new GuardedPage();
        for (int bit = 0; bit < HeaderBytes * 8; bit++)
        {
            payload[bit / 8] ^= (byte)(1 << (bit % 8));
            target.Reset();
            DecompressStatus status = decompressor.Decompress(payload, target.Span);
            payload[bit / 8] ^= (byte)(1 << (bit % 8));

            target.AssertCanariesIntact();
            if (bit == UnusedBit)
            {
                Assert.Equal(DecompressStatus.Ok, status);
                Assert.True(target.Written.SequenceEqual(page));
            }
            else
            {
                Assert.True(status != DecompressStatus.Ok, $"flipping header bit {bit} went undetected");
            }
        }
    }

    [Fact]
    public void SkippableFrameAfterThePageIsCorrupt()
    {
        byte[] payload;
        using (var compressor = new ZstdPageCompressor(1))
        {
            payload = TestPages.Compress(compressor, TestPages.Create("text", 8));
        }

        // A skippable frame (magic 0x184D2A50, 4-byte length, 4 bytes of content) that libzstd itself would skip silently.
        byte[] skippable = [0x50, 0x2A, 0x4D, 0x18, 0x04, 0x00, 0x00, 0x00, 0xDE, 0xAD, 0xBE, 0xEF];
        using var decompressor = new ZstdPageDecompressor();
        Assert.Equal(DecompressStatus.Corrupt, decompressor.Decompress([.. payload, .. skippable], new byte[PageSizes.PageSize]));
    }

    private static unsafe ulong ContentSize(byte[] payload)
    {
        fixed (byte* source = payload)
        {
            return Interop.ZSTD_getFrameContentSize(source, (nuint)payload.Length);
        }
    }

    private static unsafe nuint FrameSize(byte[] payload)
    {
        fixed (byte* source = payload)
        {
            return Interop.ZSTD_findFrameCompressedSize(source, (nuint)payload.Length);
        }
    }
}
