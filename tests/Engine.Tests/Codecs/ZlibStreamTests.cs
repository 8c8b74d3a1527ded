using System.Buffers.Binary;
using System.IO.Compression;
using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

/// <summary>zlib-specific promises: QEMU's exact stream format, and cross-checks with .NET's independent ZLibStream.</summary>
public sealed class ZlibStreamTests
{
    public static TheoryData<ZlibImplementation> Implementations => new(ZlibImplementation.Native, ZlibImplementation.SharpZipLib);

    public static TheoryData<ZlibImplementation, CompressionLevel> ImplementationsAndZLibStreamLevels
    {
        get
        {
            var data = new TheoryData<ZlibImplementation, CompressionLevel>();
            foreach (ZlibImplementation implementation in new[] { ZlibImplementation.Native, ZlibImplementation.SharpZipLib })
            {
                foreach (CompressionLevel level in new[] { CompressionLevel.NoCompression, CompressionLevel.Fastest, CompressionLevel.Optimal, CompressionLevel.SmallestSize })
                {
                    data.Add(implementation, level);
                }
            }

            return data;
        }
    }

    [Theory]
    [InlineData(1, 0x01)]
    [InlineData(2, 0x5E)]
    [InlineData(5, 0x5E)]
    [InlineData(6, 0x9C)]
    [InlineData(7, 0xDA)]
    [InlineData(9, 0xDA)]
    public void NativeStreamsStartWithTheHeaderQemuWrites(int level, byte flags)
    {
        // deflateInit(level): window 15 (CMF 0x78) and FLEVEL from the level, as QEMU 7.2's pages carry them.
        using var compressor = new ZlibPageCompressor(level);
        byte[] payload = TestPages.Compress(compressor, TestPages.Create("text", 1));
        Assert.Equal(0x78, payload[0]);
        Assert.Equal(flags, payload[1]);
    }

    [Theory]
    [MemberData(nameof(Implementations))]
    public void OurStreamsInflateWithZLibStreamAndEndWithTheAdler32(ZlibImplementation implementation)
    {
        for (int level = 1; level <= CompressionSettings.ZlibMaxLevel; level++)
        {
            using IPageCompressor compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zlib, level), implementation);
            foreach (string name in TestPages.Compressible)
            {
                byte[] page = TestPages.Create(name, 29);
                byte[] payload = TestPages.Compress(compressor, page);

                Assert.Equal(page, Independent.ZlibDecompress(payload));
                Assert.True(PayloadFormat.IsZlibHeader(payload));
                Assert.Equal(Adler32(page), BinaryPrimitives.ReadUInt32BigEndian(payload.AsSpan(payload.Length - 4)));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ImplementationsAndZLibStreamLevels))]
    public void ZLibStreamOutputInflatesWithOurs(ZlibImplementation implementation, CompressionLevel level)
    {
        using IPageDecompressor decompressor = PageCodecs.CreateDecompressor(CompressMethod.Zlib, implementation);
        foreach (string name in TestPages.Names)
        {
            byte[] page = TestPages.Create(name, 31);
            byte[] payload = Independent.ZlibCompress(page, level);
            var target = new GuardedPage();

            DecompressStatus status = decompressor.Decompress(payload, target.Span);

            target.AssertCanariesIntact();
            if (payload.Length > PageSizes.ZlibBound)
            {
                // zlib-ng (inside .NET) may store an incompressible page in more than compressBound bytes; QEMU refuses those.
                Assert.Equal(DecompressStatus.TooLong, status);
                continue;
            }

            Assert.Equal(DecompressStatus.Ok, status);
            Assert.True(target.Written.SequenceEqual(page), $"{name} at {level}");
        }
    }

    [Theory]
    [InlineData(ZlibImplementation.Native, ZlibImplementation.SharpZipLib)]
    [InlineData(ZlibImplementation.SharpZipLib, ZlibImplementation.Native)]
    public void NativeAndSharpZipLibReadEachOther(ZlibImplementation writer, ZlibImplementation reader)
    {
        using IPageCompressor compressor = PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zlib, 6), writer);
        using IPageDecompressor decompressor = PageCodecs.CreateDecompressor(CompressMethod.Zlib, reader);
        byte[] decoded = new byte[PageSizes.PageSize];
        foreach (string name in TestPages.Compressible)
        {
            byte[] page = TestPages.Create(name, 37);
            Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(TestPages.Compress(compressor, page), decoded));
            Assert.Equal(page, decoded);
        }
    }

    [Theory]
    [InlineData(ZlibImplementation.Native, 0x08)]
    [InlineData(ZlibImplementation.Native, 0x78)]
    [InlineData(ZlibImplementation.SharpZipLib, 0x08)]
    [InlineData(ZlibImplementation.SharpZipLib, 0x78)]
    public void StoredStreamsOfAnyWindowSizeInflate(ZlibImplementation implementation, byte cmf)
    {
        // One stored block, built by hand: what zlib level 0 writes, with the smallest (CINFO 0) or largest window.
        byte[] page = TestPages.Create("random", 41);
        byte[] payload = StoredStream(cmf, page);
        Assert.Equal(PageSizes.PageSize + 11, payload.Length);
        using IPageDecompressor decompressor = PageCodecs.CreateDecompressor(CompressMethod.Zlib, implementation);
        byte[] decoded = new byte[PageSizes.PageSize];

        Assert.Equal(DecompressStatus.Ok, decompressor.Decompress(payload, decoded));
        Assert.Equal(page, decoded);

        // The same stream with a wrong Adler-32.
        payload[^1] ^= 0x80;
        Assert.Equal(DecompressStatus.Corrupt, decompressor.Decompress(payload, decoded));
    }

    private static byte[] StoredStream(byte cmf, byte[] data)
    {
        byte flg = 0;
        while (((cmf << 8) | flg) % 31 != 0)
        {
            flg++;
        }

        var stream = new List<byte> { cmf, flg, 0x01 };
        stream.AddRange(BitConverter.GetBytes((ushort)data.Length));
        stream.AddRange(BitConverter.GetBytes((ushort)~data.Length));
        stream.AddRange(data);
        byte[] adler = new byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(adler, Adler32(data));
        stream.AddRange(adler);
        return [.. stream];
    }

    private static uint Adler32(ReadOnlySpan<byte> data)
    {
        const uint Modulus = 65521;
        uint a = 1;
        uint b = 0;
        foreach (byte value in data)
        {
            a = (a + value) % Modulus;
            b = (b + a) % Modulus;
        }

        return (b << 16) | a;
    }
}
