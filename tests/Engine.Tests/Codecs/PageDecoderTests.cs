using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

public sealed class PageDecoderTests
{
    public static TheoryData<CompressMethod, ZlibImplementation> ConfiguredMethods
    {
        get
        {
            var data = new TheoryData<CompressMethod, ZlibImplementation>();
            foreach (CompressMethod method in new[] { CompressMethod.None, CompressMethod.Zlib, CompressMethod.Zstd })
            {
                data.Add(method, ZlibImplementation.Native);
                data.Add(method, ZlibImplementation.SharpZipLib);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(ConfiguredMethods))]
    public void AutoDetectingDecoderDecodesBothMethods(CompressMethod configured, ZlibImplementation zlib)
    {
        using PageDecoder decoder = new PageDecoder(configured, strict: false, zlib);
        Assert.Equal(configured, decoder.Method);
        Assert.False(decoder.Strict);
        foreach (CompressMethod method in new[] { CompressMethod.Zlib, CompressMethod.Zstd })
        {
            byte[] page = TestPages.Create("binary", 43);
            var target = new GuardedPage();
            Assert.Equal(DecompressStatus.Ok, decoder.Decompress(Payload(method, page), target.Span));
            Assert.True(target.Written.SequenceEqual(page));
            target.AssertCanariesIntact();
        }
    }

    [Theory]
    [MemberData(nameof(ConfiguredMethods))]
    public void StrictDecoderAcceptsOnlyTheConfiguredMethod(CompressMethod configured, ZlibImplementation zlib)
    {
        using PageDecoder decoder = new PageDecoder(configured, strict: true, zlib);
        Assert.True(decoder.Strict);
        foreach (CompressMethod method in new[] { CompressMethod.Zlib, CompressMethod.Zstd })
        {
            byte[] page = TestPages.Create("text", 47);
            var target = new GuardedPage();
            DecompressStatus status = decoder.Decompress(Payload(method, page), target.Span);
            Assert.Equal(method == configured ? DecompressStatus.Ok : DecompressStatus.WrongMethod, status);
            target.AssertCanariesIntact();
        }
    }

    [Fact]
    public void TheBoundIsTheDetectedMethods()
    {
        // 4111 bytes: within zstd's bound, beyond zlib's. A zlib payload that long is TooLong; a zstd one reaches the decoder.
        using PageDecoder decoder = new PageDecoder(CompressMethod.Zlib, strict: false);
        byte[] zlib = new byte[PageSizes.ZlibBound + 1];
        Payload(CompressMethod.Zlib, TestPages.Create("text", 1)).CopyTo(zlib, 0);
        byte[] zstd = new byte[PageSizes.ZlibBound + 1];
        Payload(CompressMethod.Zstd, TestPages.Create("text", 1)).CopyTo(zstd, 0);
        byte[] page = new byte[PageSizes.PageSize];

        byte[] longZstd = new byte[PageSizes.ZstdBound + 1];
        Payload(CompressMethod.Zstd, TestPages.Create("text", 1)).CopyTo(longZstd, 0);

        Assert.Equal(DecompressStatus.TooLong, decoder.Decompress(zlib, page));
        Assert.Equal(DecompressStatus.Corrupt, decoder.Decompress(zstd, page));
        Assert.Equal(DecompressStatus.TooLong, decoder.Decompress(longZstd, page));
        Assert.Equal(DecompressStatus.UnknownFormat, decoder.Decompress(new byte[PageSizes.ZstdBound + 1], page));
    }

    [Fact]
    public void ReportsEmptyUnknownAndTooSmallBeforeDecoding()
    {
        using PageDecoder decoder = new PageDecoder(CompressMethod.Zstd, strict: true);
        byte[] payload = Payload(CompressMethod.Zstd, TestPages.Create("text", 1));
        Assert.Equal(DecompressStatus.Empty, decoder.Decompress([], new byte[PageSizes.PageSize]));
        Assert.Equal(DecompressStatus.UnknownFormat, decoder.Decompress([0x42, 0x42, 0x42, 0x42], new byte[PageSizes.PageSize]));
        Assert.Equal(DecompressStatus.DestinationTooSmall, decoder.Decompress(payload, new byte[PageSizes.PageSize - 1]));
    }

    private static byte[] Payload(CompressMethod method, byte[] page)
    {
        using IPageCompressor compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(method, 1));
        return TestPages.Compress(compressor, page);
    }
}
