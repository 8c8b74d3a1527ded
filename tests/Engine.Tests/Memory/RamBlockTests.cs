using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Memory;

public sealed class RamBlockTests
{
    [Fact]
    public unsafe void IsPageAlignedZeroedAndNamed()
    {
        using var block = new RamBlock("pc.ram", 16 * PageSizes.PageSize);
        Assert.Equal("pc.ram", block.Name);
        Assert.Equal(16, block.PageCount);
        fixed (byte* first = block.GetPage(0))
        {
            Assert.Equal(0, (long)first % PageSizes.PageSize);
        }

        Assert.False(block.GetSpan(0, (int)block.Size).ContainsAnyExcept((byte)0));
    }

    [Theory]
    [InlineData("")]
    [InlineData("bad\nname")]
    [InlineData("caf\u00e9")]
    public void RejectsNamesThatAreEmptyOrNotPrintableAscii(string name)
        => Assert.Throws<ArgumentException>(() => new RamBlock(name, PageSizes.PageSize));

    [Fact]
    public void AcceptsA255ByteNameAndRejects256()
    {
        using (new RamBlock(new string('a', RamBlock.MaxNameLength), PageSizes.PageSize))
        {
        }

        Assert.Throws<ArgumentException>(() => new RamBlock(new string('a', RamBlock.MaxNameLength + 1), PageSizes.PageSize));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-4096)]
    [InlineData(4095)]
    [InlineData(4097)]
    public void RejectsSizesThatAreNotPositiveWholePages(long size)
        => Assert.Throws<ArgumentOutOfRangeException>(() => new RamBlock("b", size));

    [Theory]
    [InlineData(-4096)]
    [InlineData(1)]
    [InlineData(4 * 4096)]
    [InlineData(long.MaxValue)]
    public void PageAccessIsBoundsChecked(long offset)
    {
        using var block = new RamBlock("b", 4 * PageSizes.PageSize);
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => block.GetPage(offset));
        Assert.Contains("'b'", e.Message);
        Assert.False(block.IsPageOffset(offset));
    }

    [Fact]
    public void SpansAreBoundsChecked()
    {
        using var block = new RamBlock("b", 2 * PageSizes.PageSize);
        Assert.Equal(8192, block.GetSpan(0, 8192).Length);
        Assert.Throws<ArgumentOutOfRangeException>(() => block.GetSpan(1, 8192));
        Assert.Throws<ArgumentOutOfRangeException>(() => block.GetSpan(8193, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => block.GetSpan(0, -1));
    }

    [Fact]
    public void PagesWriteThroughAndDisposeEndsAccess()
    {
        var block = new RamBlock("b", 2 * PageSizes.PageSize);
        block.GetPage(4096)[17] = 0x5A;
        Assert.Equal(0x5A, block.GetSpan(4096 + 17, 1)[0]);
        block.Dispose();
        block.Dispose();
        Assert.True(block.IsDisposed);
        Assert.Throws<ObjectDisposedException>(() => block.GetPage(0));
    }
}
