using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

/// <summary>The built-in pages are deterministic and compress like the memory they stand for.</summary>
public sealed class PageMixTests
{
    [Theory]
    [InlineData(PageKind.Text)]
    [InlineData(PageKind.Binary)]
    [InlineData(PageKind.Sparse)]
    [InlineData(PageKind.Random)]
    public void SameSeedSameBytesOtherSeedOtherBytes(PageKind kind)
    {
        byte[] first = new byte[PageSizes.PageSize];
        byte[] again = new byte[PageSizes.PageSize];
        byte[] other = new byte[PageSizes.PageSize];
        PageMix.Fill(kind, first, 12345);
        PageMix.Fill(kind, again, 12345);
        PageMix.Fill(kind, other, 12346);

        Assert.Equal(first, again);
        Assert.NotEqual(first, other);
        Assert.False(ZeroPage.IsZero(first));
    }

    [Fact]
    public void ZeroIsZeroEvenOverOldContent()
    {
        byte[] page = new byte[PageSizes.PageSize];
        page.AsSpan().Fill(0xFF);
        PageMix.Fill(PageKind.Zero, page, 1);
        Assert.True(ZeroPage.IsZero(page));
    }

    [Theory]
    [InlineData(PageKind.Text, 2.5, 3.6)]
    [InlineData(PageKind.Binary, 1.7, 2.5)]
    [InlineData(PageKind.Sparse, 10.0, 200.0)]
    public void KindsCompressLikeTheMemoryTheyStandFor(PageKind kind, double minRatio, double maxRatio)
    {
        const int Pages = 48;
        using var compressor = new ZlibPageCompressor(1);
        byte[] page = new byte[PageSizes.PageSize];
        byte[] destination = new byte[compressor.MaxCompressedLength];
        long total = 0;
        for (int seed = 0; seed < Pages; seed++)
        {
            PageMix.Fill(kind, page, (ulong)seed);
            total += compressor.Compress(page, destination, out int written) == CompressResult.Compressed ? written : PageSizes.PageSize;
        }

        double ratio = (double)Pages * PageSizes.PageSize / total;
        Assert.InRange(ratio, minRatio, maxRatio);
    }

    [Fact]
    public void RandomPagesNeverCompress()
    {
        using var compressor = new ZlibPageCompressor(9);
        byte[] page = new byte[PageSizes.PageSize];
        byte[] destination = new byte[compressor.MaxCompressedLength];
        for (int seed = 0; seed < 16; seed++)
        {
            PageMix.Fill(PageKind.Random, page, (ulong)seed);
            Assert.Equal(CompressResult.SendRaw, compressor.Compress(page, destination, out _));
        }
    }

    [Fact]
    public void MixRotatesThroughEveryKindDeterministically()
    {
        const int Pages = 64;
        byte[] mix = PageMix.CreateMix(Pages, 99);
        Assert.Equal(Pages * PageSizes.PageSize, mix.Length);
        Assert.Equal(mix, PageMix.CreateMix(Pages, 99));
        Assert.NotEqual(mix, PageMix.CreateMix(Pages, 100));
        Assert.Equal(PageMix.Kinds.Order(), Enumerable.Range(0, Pages).Select(PageMix.KindAt).Distinct().Order());

        for (int i = 0; i < Pages; i++)
        {
            ReadOnlySpan<byte> page = mix.AsSpan(i * PageSizes.PageSize, PageSizes.PageSize);
            Assert.Equal(PageMix.KindAt(i) == PageKind.Zero, ZeroPage.IsZero(page));
        }

        // Two pages of the same kind differ: each page has its own seed.
        int first = Enumerable.Range(0, Pages).First(i => PageMix.KindAt(i) == PageKind.Text);
        int second = Enumerable.Range(first + 1, Pages - first - 1).First(i => PageMix.KindAt(i) == PageKind.Text);
        Assert.False(mix.AsSpan(first * PageSizes.PageSize, PageSizes.PageSize).SequenceEqual(mix.AsSpan(second * PageSizes.PageSize, PageSizes.PageSize)));
    }

    [Fact]
    public void RejectsSpansThatAreNotAPage()
    {
        Assert.Throws<ArgumentException>(() => PageMix.Fill(PageKind.Text, new byte[100], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PageMix.Fill((PageKind)42, new byte[PageSizes.PageSize], 1));
        Assert.Throws<ArgumentOutOfRangeException>(() => PageMix.CreateMix(-1, 1));
    }
}
