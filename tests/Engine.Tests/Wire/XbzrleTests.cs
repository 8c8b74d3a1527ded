using Engine.Tests.Wire.Support;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Wire;

public class XbzrleTests
{
    [Fact]
    public void Known_delta_decodes_in_place()
    {
        byte[] page = StreamBuilder.TextPage(0);
        byte[] expected = (byte[])page.Clone();
        expected[3] = (byte)'x';
        expected[4] = (byte)'y';
        expected[3 + 2 + 200] = 0xEE;

        // zrun 3, nzrun 2 "xy", zrun 200 (two-byte ULEB128 C8 01), nzrun 1 EE; the trailing unchanged run is left out.
        byte[] delta = { 3, 2, (byte)'x', (byte)'y', 0xC8, 0x01, 1, 0xEE };
        Assert.True(Xbzrle.Validate(delta, out _, out _));
        Assert.True(Xbzrle.Decode(delta, page));
        Assert.Equal(expected, page);
    }

    [Fact]
    public void Encoder_and_decoder_agree_on_random_changes()
    {
        var random = new Random(7);
        for (int round = 0; round < 200; round++)
        {
            byte[] old = StreamBuilder.RandomPage(round);
            byte[] updated = (byte[])old.Clone();
            int changes = random.Next(1, 40);
            for (int i = 0; i < changes; i++)
            {
                int at = random.Next(4096);
                int length = Math.Min(random.Next(1, 64), 4096 - at);
                random.NextBytes(updated.AsSpan(at, length));
            }

            byte[] delta = XbzrleTestEncoder.Encode(old, updated);
            if (delta.Length > Xbzrle.MaxEncodedLength)
            {
                continue;
            }

            byte[] page = (byte[])old.Clone();
            Assert.True(Xbzrle.Decode(delta, page));
            Assert.Equal(updated, page);
        }
    }

    [Theory]
    [InlineData(new byte[] { 0x80 }, 0, "unchanged-run length")]
    [InlineData(new byte[] { 0x80, 0x80, 0x01 }, 0, "unchanged-run length")]
    [InlineData(new byte[] { 0x05 }, 1, "changed-run length is missing")]
    [InlineData(new byte[] { 0x05, 0x00 }, 1, "empty changed run")]
    [InlineData(new byte[] { 0x05, 0x03, 0x01 }, 1, "only 1 encoded bytes left")]
    [InlineData(new byte[] { 0x01, 0x01, 0xAA, 0x00, 0x01, 0xBB }, 3, "empty unchanged run after the first pair")]
    [InlineData(new byte[] { 0x81, 0x20, 0x01, 0xAA }, 0, "past the end of the page")]
    public void Malformed_deltas_are_rejected(byte[] delta, int offset, string fragment)
    {
        Assert.False(Xbzrle.Validate(delta, out int errorOffset, out string? error));
        Assert.Equal(offset, errorOffset);
        Assert.Contains(fragment, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_delta_is_an_unchanged_page()
    {
        byte[] page = StreamBuilder.TextPage(3);
        byte[] copy = (byte[])page.Clone();
        Assert.True(Xbzrle.Decode(ReadOnlySpan<byte>.Empty, page));
        Assert.Equal(copy, page);
    }
}
