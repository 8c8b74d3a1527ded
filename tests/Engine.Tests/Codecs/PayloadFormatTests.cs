using Engine.Codecs;
using Xunit;

namespace Engine.Tests.Codecs;

public sealed class PayloadFormatTests
{
    [Theory]
    [InlineData(new byte[] { 0x78, 0x01 }, CompressMethod.Zlib)]
    [InlineData(new byte[] { 0x78, 0x5E }, CompressMethod.Zlib)]
    [InlineData(new byte[] { 0x78, 0x9C }, CompressMethod.Zlib)]
    [InlineData(new byte[] { 0x78, 0xDA }, CompressMethod.Zlib)]
    [InlineData(new byte[] { 0x08, 0x1D }, CompressMethod.Zlib)]
    [InlineData(new byte[] { 0x68, 0x81 }, CompressMethod.Zlib)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD }, CompressMethod.Zstd)]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFD, 0x20, 0x00 }, CompressMethod.Zstd)]
    public void DetectsZlibHeadersAndTheZstdMagic(byte[] payload, CompressMethod expected)
    {
        Assert.True(PayloadFormat.TryDetect(payload, out CompressMethod method));
        Assert.Equal(expected, method);
    }

    [Theory]
    [InlineData(new byte[0])]
    [InlineData(new byte[] { 0x78 })]
    [InlineData(new byte[] { 0x78, 0x00 })]
    [InlineData(new byte[] { 0x78, 0xBB })]
    [InlineData(new byte[] { 0x88, 0x98 })]
    [InlineData(new byte[] { 0x77, 0x85 })]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F })]
    [InlineData(new byte[] { 0x28, 0xB5, 0x2F, 0xFC })]
    [InlineData(new byte[] { 0xFD, 0x2F, 0xB5, 0x28 })]
    [InlineData(new byte[] { 0x1F, 0x8B, 0x08, 0x00 })]
    [InlineData(new byte[] { 0x50, 0x2A, 0x4D, 0x18 })]
    public void RejectsEverythingElse(byte[] payload)
    {
        // 78 BB: a valid check but FDICT set (a preset dictionary no page stream has); 88 98: window 64 KiB (CINFO 8);
        // 77 85: CM 7, not deflate; then a cut zstd magic, a wrong one, gzip, and a skippable zstd frame.
        Assert.False(PayloadFormat.TryDetect(payload, out CompressMethod method));
        Assert.Equal(CompressMethod.None, method);
    }

    [Fact]
    public void EveryZlibHeaderWithValidCheckBitsAndNoDictionaryIsZlib()
    {
        int accepted = 0;
        for (int cmf = 0; cmf < 256; cmf++)
        {
            for (int flg = 0; flg < 256; flg++)
            {
                bool expected = (cmf & 0x0F) == 8 && (cmf >> 4) <= 7 && ((cmf * 256) + flg) % 31 == 0 && (flg & 0x20) == 0;
                Assert.Equal(expected, PayloadFormat.IsZlibHeader([(byte)cmf, (byte)flg]));
                accepted += expected ? 1 : 0;
            }
        }

        // 8 window sizes x 4 levels (FLEVEL) x 1 check value each, with FDICT clear.
        Assert.Equal(32, accepted);
    }
}
