using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

public sealed class PageCodecsTests
{
    [Theory]
    [InlineData(CompressMethod.Zlib, 1, ZlibImplementation.Native, typeof(ZlibPageCompressor))]
    [InlineData(CompressMethod.Zlib, 9, ZlibImplementation.SharpZipLib, typeof(SharpZipLibPageCompressor))]
    [InlineData(CompressMethod.Zstd, 3, ZlibImplementation.Native, typeof(ZstdPageCompressor))]
    [InlineData(CompressMethod.Zstd, -5, ZlibImplementation.SharpZipLib, typeof(ZstdPageCompressor))]
    [InlineData(CompressMethod.None, 0, ZlibImplementation.Native, typeof(NonePageCompressor))]
    public void CreatesTheCompressorOfTheMethod(CompressMethod method, int level, ZlibImplementation zlib, Type expected)
    {
        using IPageCompressor compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(method, level), zlib);
        Assert.IsType(expected, compressor);
        Assert.Equal(method, compressor.Method);
        Assert.Equal(level, compressor.Level);
    }

    [Theory]
    [InlineData(CompressMethod.Zlib, ZlibImplementation.Native, typeof(ZlibPageDecompressor))]
    [InlineData(CompressMethod.Zlib, ZlibImplementation.SharpZipLib, typeof(SharpZipLibPageDecompressor))]
    [InlineData(CompressMethod.Zstd, ZlibImplementation.Native, typeof(ZstdPageDecompressor))]
    public void CreatesTheDecompressorOfTheMethod(CompressMethod method, ZlibImplementation zlib, Type expected)
    {
        using IPageDecompressor decompressor = PageCodecs.CreateDecompressor(method, zlib);
        Assert.IsType(expected, decompressor);
        Assert.Equal(method, decompressor.Method);
    }

    [Fact]
    public void MethodNoneSendsEveryPageRaw()
    {
        using IPageCompressor compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.None, 0));
        Assert.Equal(CompressResult.SendRaw, compressor.Compress(TestPages.Create("zero"), [], out int written));
        Assert.Equal(0, written);
        Assert.Throws<ArgumentException>(() => compressor.Compress(new byte[10], [], out _));
    }

    [Fact]
    public void MethodNoneHasNoDecompressor()
    {
        ArgumentException e = Assert.Throws<ArgumentException>(() => PageCodecs.CreateDecompressor(CompressMethod.None));
        Assert.Contains("CreateDecoder", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(3)]
    [InlineData(255)]
    public void UnknownMethodsAreRejectedListingTheKnownOnes(int value)
    {
        var method = (CompressMethod)value;
        foreach (Action create in new Action[]
        {
            () => PageCodecs.CreateDecompressor(method).Dispose(),
            () => PageCodecs.CreateDecoder(method, strict: true).Dispose(),
            () => CompressionSettings.Create(method, 1),
        })
        {
            EngineParameterException e = Assert.Throws<EngineParameterException>(create);
            Assert.Contains("none, zlib, zstd", e.Message, StringComparison.Ordinal);
            Assert.Contains(value.ToString(System.Globalization.CultureInfo.InvariantCulture), e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void UnknownZlibImplementationIsRejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => PageCodecs.CreateCompressor(CompressionSettings.Default, (ZlibImplementation)7));
        Assert.Throws<ArgumentOutOfRangeException>(() => PageCodecs.CreateDecompressor(CompressMethod.Zlib, (ZlibImplementation)7));
    }

    [Fact]
    public void DisposedCodecsThrowObjectDisposed()
    {
        foreach (CompressMethod method in new[] { CompressMethod.Zlib, CompressMethod.Zstd })
        {
            IPageCompressor compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(method, 1));
            IPageDecompressor decompressor = PageCodecs.CreateDecompressor(method);
            byte[] payload = TestPages.Compress(compressor, TestPages.Create("text", 1));
            compressor.Dispose();
            compressor.Dispose();
            decompressor.Dispose();

            Assert.Throws<ObjectDisposedException>(() => compressor.Compress(TestPages.Create("text", 1), new byte[PageSizes.MaxCompressedPage], out _));
            Assert.Throws<ObjectDisposedException>(() => decompressor.Decompress(payload, new byte[PageSizes.PageSize]));
        }
    }

    [Fact]
    public void CodecsOnParallelThreadsDoNotInterfere()
    {
        // Each worker owns its codecs; nothing is shared between instances (no static buffers, no shared contexts).
        byte[] mix = PageMix.CreateMix(64, 3);
        var settings = new[]
        {
            (CompressionSettings.Create(CompressMethod.Zstd, 3), ZlibImplementation.Native),
            (CompressionSettings.Create(CompressMethod.Zlib, 1), ZlibImplementation.Native),
            (CompressionSettings.Create(CompressMethod.Zlib, 6), ZlibImplementation.SharpZipLib),
            (CompressionSettings.Create(CompressMethod.Zstd, -3), ZlibImplementation.Native),
        };
        Parallel.ForEach(settings, new ParallelOptions { MaxDegreeOfParallelism = settings.Length }, setting =>
        {
            using IPageCompressor compressor = PageCodecs.CreateCompressor(setting.Item1, setting.Item2);
            using PageDecoder decoder = new PageDecoder(setting.Item1.Method, strict: true, setting.Item2);
            byte[] destination = new byte[compressor.MaxCompressedLength];
            byte[] page = new byte[PageSizes.PageSize];
            for (int round = 0; round < 4; round++)
            {
                for (int offset = 0; offset < mix.Length; offset += PageSizes.PageSize)
                {
                    ReadOnlySpan<byte> original = mix.AsSpan(offset, PageSizes.PageSize);
                    if (compressor.Compress(original, destination, out int written) == CompressResult.Compressed)
                    {
                        Assert.Equal(DecompressStatus.Ok, decoder.Decompress(destination.AsSpan(0, written), page));
                        Assert.True(original.SequenceEqual(page));
                    }
                }
            }
        });
    }

    [Fact]
    public void EveryDecompressStatusHasItsOwnClearMessage()
    {
        DecompressStatus[] statuses = Enum.GetValues<DecompressStatus>();
        string[] messages = statuses.Select(status => status.Describe()).ToArray();
        Assert.Equal(messages.Length, messages.Distinct().Count());
        Assert.All(messages, message => Assert.True(message.Length > 20, message));
        Assert.Contains("4110", DecompressStatus.TooLong.Describe(), StringComparison.Ordinal);
        Assert.Contains("4174", DecompressStatus.TooLong.Describe(), StringComparison.Ordinal);
        Assert.Contains("28 B5 2F FD", DecompressStatus.UnknownFormat.Describe(), StringComparison.Ordinal);
        Assert.Contains("compress-method", DecompressStatus.WrongMethod.Describe(), StringComparison.Ordinal);
        Assert.Contains("4096", DecompressStatus.WrongSize.Describe(), StringComparison.Ordinal);
        Assert.Contains("empty", DecompressStatus.Empty.Describe(), StringComparison.Ordinal);
        Assert.Contains("corrupt", DecompressStatus.Corrupt.Describe(), StringComparison.Ordinal);
        Assert.Contains("99", ((DecompressStatus)99).Describe(), StringComparison.Ordinal);
    }
}
