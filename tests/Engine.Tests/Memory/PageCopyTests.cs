using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Memory;

public sealed unsafe partial class PageCopyTests
{
    private const int RusageThread = 1;

    // struct rusage on 64-bit Linux: two timevals (32 bytes), then longs; ru_minflt is the 5th long.
    private const int RusageSize = 144;
    private const int MinorFaultsOffset = 32 + (4 * 8);

    [Fact]
    public void CopiesThePageExactlyAndNothingAround()
    {
        using var block = new RamBlock("pc.ram", 4 * PageSizes.PageSize);
        block.GetPage(PageSizes.PageSize).Fill(0xAB);
        var source = new byte[PageSizes.PageSize];
        new Random(18).NextBytes(source);

        PageCopy.CopyTo(source, block.GetPage(PageSizes.PageSize));
        PageCopy.CopyTo(source, block.GetPage(2 * PageSizes.PageSize));

        Assert.True(block.GetPage(PageSizes.PageSize).SequenceEqual(source));
        Assert.True(block.GetPage(2 * PageSizes.PageSize).SequenceEqual(source));
        Assert.False(block.GetPage(0).ContainsAnyExcept((byte)0));
        Assert.False(block.GetPage(3 * PageSizes.PageSize).ContainsAnyExcept((byte)0));
    }

    [Fact]
    public void TakesOneFaultPerFreshPage()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        const int pages = 1024;
        using PageMemoryHandle memory = PageMemoryHandle.AllocateZeroed(pages * (nuint)PageSizes.PageSize, hugePages: false);
        var source = new byte[PageSizes.PageSize];
        new Random(18).NextBytes(source);
        PageCopy.CopyTo(source, new Span<byte>(memory.Pointer, PageSizes.PageSize));

        // This thread's own count, so other tests' threads do not add to it.
        long before = ThreadMinorFaults();
        for (int i = 1; i < pages; i++)
        {
            PageCopy.CopyTo(source, new Span<byte>(memory.Pointer + ((long)i * PageSizes.PageSize), PageSizes.PageSize));
        }

        long faults = ThreadMinorFaults() - before;

        // A read fault then a write-protect fault per page (the copy's first touch read as a read) would be ~2046.
        Assert.InRange(faults, pages - 1, pages + 64);
        Assert.True(new ReadOnlySpan<byte>(memory.Pointer + ((long)(pages - 1) * PageSizes.PageSize), PageSizes.PageSize).SequenceEqual(source));
    }

    private static long ThreadMinorFaults()
    {
        byte* usage = stackalloc byte[RusageSize];
        Assert.Equal(0, GetRusage(RusageThread, usage));
        return *(long*)(usage + MinorFaultsOffset);
    }

    [LibraryImport("libc", EntryPoint = "getrusage")]
    private static partial int GetRusage(int who, byte* usage);
}
