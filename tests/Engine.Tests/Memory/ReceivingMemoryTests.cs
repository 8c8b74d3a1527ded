using System.Globalization;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Memory;

/// <summary>
/// A destination's guest memory is in 2 MiB pages, as a source's: one fault per 2 MiB region it writes instead of one per
/// 4 KiB page (docs/PERFORMANCE.md, "The destination's memory in 2 MiB regions again").
/// </summary>
public sealed unsafe class ReceivingMemoryTests
{
    [SkippableFact]
    public void A_receiving_block_and_a_source_block_are_both_advised_towards_huge_pages()
    {
        Skip.IfNot(OperatingSystem.IsLinux(), "madvise and /proc/self/smaps are Linux's");
        using var memory = new GuestMemory();
        RamBlock receiving = memory.AddReceivingBlock("pc.ram", 8L << 20);
        RamBlock source = memory.AddBlock("vga.vram", 8L << 20);
        Assert.Contains("hg", VmFlags((nint)receiving.GetPagePointer(0)));
        Assert.DoesNotContain("nh", VmFlags((nint)receiving.GetPagePointer(0)));
        Assert.Contains("hg", VmFlags((nint)source.GetPagePointer(0)));

        // Still zeroed memory that takes writes.
        Assert.True(receiving.GetPage(4096).IndexOfAnyExcept((byte)0) < 0);
        receiving.GetPage(4096).Fill(7);
        Assert.Equal(7, receiving.GetPage(4096)[4095]);
    }

    /// <summary>The VmFlags of the mapping that holds <paramref name="address"/>, from /proc/self/smaps.</summary>
    internal static string[] VmFlags(nint address)
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
