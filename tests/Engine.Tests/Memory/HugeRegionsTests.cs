using System.Runtime.InteropServices;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Memory;

/// <summary>
/// A destination's 2 MiB regions, each populated once before its first page is written (<see cref="HugeRegions"/>):
/// residency from mincore(2), writers racing on one region, a populate that fails.
/// </summary>
public sealed partial class HugeRegionsTests
{
    private const int Page = PageSizes.PageSize;
    private const int Region = 1 << HugeRegions.RegionShift;

    [Fact]
    public unsafe void AReceivingBlockStartsOnA2MiBBoundaryAndPopulatesOnlyTheRegionsItWrites()
    {
        if (!OperatingSystem.IsLinux())
        {
            return; // mincore(2) tells; elsewhere the block has no regions
        }

        using var memory = new GuestMemory();
        RamBlock block = memory.AddReceivingBlock("pc.ram", 4L * Region);
        Assert.Equal(0, (long)block.GetPagePointer(0) % Region);
        Assert.NotNull(block.Regions);
        Assert.Equal(4, block.Regions!.Count);
        block.Regions.FallBackWhenSlow = false; // what a populate makes resident, whatever this machine's huge pages cost

        // One page in region 1 (its last), a run across regions 2 and 3: region 0 stays untouched.
        block.MarkWritten(Region + Region - Page);
        block.GetPage(Region + Region - Page).Fill(0x11);
        block.MarkWritten((2L * Region) + Region - Page, 2);
        block.GetSpan((2L * Region) + Region - Page, 2 * Page).Fill(0x22);

        byte[] resident = Residency(block);
        int perRegion = Region / Page;
        Assert.Equal(0, resident.Take(perRegion).Count(r => (r & 1) != 0));
        for (int region = 1; region < 4; region++)
        {
            int count = resident.Skip(region * perRegion).Take(perRegion).Count(r => (r & 1) != 0);
            Assert.True(count == perRegion, $"region {region}: {count} of {perRegion} pages resident after its first write");
        }

        Assert.False(block.Regions.IsReady(0));
        Assert.True(block.Regions.IsReady(3L * Region));
        Assert.True(block.Written!.IsWritten((2L * Region / Page) + perRegion));

        // Populating never changed what the memory holds.
        Assert.False(block.GetSpan(Region, Region - Page).ContainsAnyExcept((byte)0));
        Assert.Equal(0x11, block.GetPage(Region + Region - Page)[Page - 1]);
        Assert.False(block.GetSpan(3L * Region + Page, Region - Page).ContainsAnyExcept((byte)0));
    }

    [Fact(Timeout = 60_000)]
    public async Task WritersRacingIntoTheSameRegionsEachSeeThemPopulatedAndKeepEveryPage()
    {
        // Four writers, interleaved page by page over eight regions (the two multifd channels' packets alternate every
        // 512 KiB; here every page), while a fifth thread makes pages zero that the writers wrote before it (a ZERO record
        // after a RAW one, ordered by the barrier the test plays with a countdown).
        const int Regions = 8;
        const int Writers = 4;
        using var memory = new GuestMemory();
        RamBlock block = memory.AddReceivingBlock("pc.ram", (long)Regions * Region);
        int pages = Regions * Region / Page;
        using var firstHalfDone = new CountdownEvent(Writers);
        var start = new Barrier(Writers + 1);

        // Threads of their own (the barrier holds them all; pool threads would be added one by one).
        Task[] writers = Enumerable.Range(0, Writers).Select(w => Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            for (int pass = 0; pass < 2; pass++)
            {
                for (int p = w + (pass * (pages / 2)); p < (pass + 1) * (pages / 2); p += Writers)
                {
                    long offset = (long)p * Page;
                    block.MarkWritten(offset);
                    Assert.True(block.Regions is null || block.Regions.IsReady(offset), $"page {p}: its region was not populated when the writer got it");
                    Span<byte> target = block.GetPage(offset);
                    target.Fill((byte)(1 + (p % 250)));
                }

                if (pass == 0)
                {
                    firstHalfDone.Signal();
                }
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToArray();

        Task zeroer = Task.Factory.StartNew(() =>
        {
            start.SignalAndWait();
            firstHalfDone.Wait();

            // Every third page of the first half: written before, so it is cleared and unmarked.
            for (int p = 0; p < pages / 2; p += 3)
            {
                block.MakeZero((long)p * Page);
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

        await Task.WhenAll([.. writers, zeroer]);
        for (int p = 0; p < pages; p++)
        {
            bool zero = p < pages / 2 && p % 3 == 0;
            ReadOnlySpan<byte> page = block.GetPage((long)p * Page);
            if (zero)
            {
                Assert.False(page.ContainsAnyExcept((byte)0), $"page {p} should be zero");
                Assert.False(block.Written!.IsWritten(p));
            }
            else
            {
                Assert.False(page.ContainsAnyExcept((byte)(1 + (p % 250))), $"page {p} lost its bytes");
                Assert.True(block.Written!.IsWritten(p));
            }
        }
    }

    [Fact]
    public unsafe void APopulateThatFailsLeavesTheRegionReadyAndThrowsNothing()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        // A read-only mapping: MADV_POPULATE_WRITE fails on it (EFAULT or EPERM), the one way to make the advice fail in
        // the middle of a run of regions. The writer then relies on the page faults, as on a kernel without the advice.
        nuint length = 3 * (nuint)Region;
        byte* raw = (byte*)Interop.Libc.mmap(null, length + (nuint)Region, Interop.Libc.PROT_READ, Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | Interop.Libc.MAP_NORESERVE, -1, 0);
        Assert.True(raw != Interop.Libc.MAP_FAILED);
        try
        {
            byte* aligned = (byte*)(((nuint)raw + (nuint)Region - 1) & ~((nuint)Region - 1));
            var regions = new HugeRegions(aligned, (long)length);
            regions.Prepare(Region - Page, 2 * Page); // regions 0 and 1
            Assert.True(regions.IsReady(0));
            Assert.True(regions.IsReady(Region));
            Assert.False(regions.IsReady(2L * Region));
            regions.Prepare(2L * Region);
            Assert.True(regions.IsReady(2L * Region));
        }
        finally
        {
            Assert.Equal(0, Interop.Libc.munmap(raw, length + (nuint)Region));
        }
    }

    [Fact]
    public unsafe void AfterSlowPopulatesTheBlockGoesBackTo4KiBPagesAndStopsPopulating()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        using var memory = new GuestMemory();
        RamBlock block = memory.AddReceivingBlock("pc.ram", 4L * Region);
        HugeRegions regions = block.Regions!;
        long slow = (long)(HugeRegions.SlowPopulate.TotalSeconds * System.Diagnostics.Stopwatch.Frequency) + 1;

        // A fast populate does not count; one slow one could be a preemption.
        regions.Timed(1);
        regions.Timed(slow);
        Assert.False(regions.FellBack);
        Assert.Equal(1, regions.SlowPopulates);
        block.MarkWritten(0);
        block.GetPage(0).Fill(1);
        Assert.Equal(Region / Page, Residency(block).Take(Region / Page).Count(r => (r & 1) != 0));

        regions.Timed(slow);
        Assert.True(regions.FellBack);
        Assert.Contains("nh", ReceivingMemoryTests.VmFlags((nint)block.GetPagePointer(Region)));

        // Region 1 is now written page by page: only the written page is resident, and the region counts as ready.
        block.MarkWritten(Region + Page);
        block.GetPage(Region + Page).Fill(2);
        Assert.True(regions.IsReady(Region));
        Assert.Equal(1, Residency(block).Skip(Region / Page).Take(Region / Page).Count(r => (r & 1) != 0));
        Assert.Equal(1, block.GetPage(0)[Page - 1]);
        Assert.Equal(2, block.GetPage(Region + Page)[0]);
    }

    [Fact]
    public unsafe void RegionsNeedAnAlignedStart()
    {
        using PageMemoryHandle memory = PageMemoryHandle.AllocateZeroed(2 * (nuint)Region);
        Assert.Throws<ArgumentException>(() => new HugeRegions(memory.Pointer + Page, Region));
    }

    private static unsafe byte[] Residency(RamBlock block)
    {
        byte[] residency = new byte[block.PageCount];
        fixed (byte* vector = residency)
        {
            Assert.Equal(0, Mincore(block.GetPagePointer(0), (nuint)block.Size, vector));
        }

        return residency;
    }

    [LibraryImport("libc", EntryPoint = "mincore", SetLastError = true)]
    private static unsafe partial int Mincore(void* address, nuint length, byte* vector);
}
