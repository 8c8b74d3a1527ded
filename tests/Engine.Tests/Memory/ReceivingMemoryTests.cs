using System.Globalization;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Memory;

/// <summary>
/// A destination's guest memory is not in 2 MiB pages: the first write into one makes the kernel zero all of it, where a
/// destination writes only the pages that arrive (docs/PERFORMANCE.md, multifd against QEMU 10.0).
/// </summary>
public sealed unsafe class ReceivingMemoryTests
{
    [SkippableFact]
    public void A_receiving_block_is_advised_against_huge_pages_and_a_source_block_towards_them()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "madvise and /proc/self/smaps are Linux's");
        using var memory = new GuestMemory();
        RamBlock receiving = memory.AddReceivingBlock("pc.ram", 8L << 20);
        RamBlock source = memory.AddBlock("vga.vram", 8L << 20);
        Assert.Contains("nh", VmFlags((nint)receiving.GetPagePointer(0)));
        Assert.DoesNotContain("hg", VmFlags((nint)receiving.GetPagePointer(0)));
        Assert.Contains("hg", VmFlags((nint)source.GetPagePointer(0)));

        // Still zeroed memory that takes writes.
        Assert.True(receiving.GetPage(4096).IndexOfAnyExcept((byte)0) < 0);
        receiving.GetPage(4096).Fill(7);
        Assert.Equal(7, receiving.GetPage(4096)[4095]);
    }

    /// <summary>The VmFlags of the mapping that holds <paramref name="address"/>, from /proc/self/smaps.</summary>
    private static string[] VmFlags(nint address)
    {
        bool inside = false;
        foreach (string line in File.ReadLines("/proc/self/smaps"))
        {
            int dash = line.IndexOf('-');
            int space = line.IndexOf(' ');
            if (dash > 0 && space > dash
                && ulong.TryParse(line.AsSpan(0, dash), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong start)
                && ulong.TryParse(line.AsSpan(dash + 1, space - dash - 1), NumberStyles.HexNumber, CultureInfo.InvariantCulture, out ulong end))
            {
                inside = (ulong)address >= start && (ulong)address < end;
            }
            else if (inside && line.StartsWith("VmFlags:", StringComparison.Ordinal))
            {
                return line["VmFlags:".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        throw new InvalidOperationException($"no mapping holds 0x{address:X} in /proc/self/smaps");
    }
}
