using Engine.Memory;
using Xunit;

namespace Engine.Tests.Memory;

public sealed class GuestMemoryTests
{
    [Fact]
    public void KeepsBlocksInOrderFindsThemByNameAndAddsUpTheirSizes()
    {
        using var memory = new GuestMemory();
        RamBlock ram = memory.AddBlock("pc.ram", 8 * 4096);
        RamBlock vram = memory.AddBlock("vga.vram", 2 * 4096);
        Assert.Equal(new[] { ram, vram }, memory.Blocks);
        Assert.Same(vram, memory["vga.vram"]);
        Assert.True(memory.TryGetBlock("pc.ram", out RamBlock? found));
        Assert.Same(ram, found);
        Assert.False(memory.TryGetBlock("PC.RAM", out _));
        Assert.Equal(10 * 4096, memory.TotalSize);
        Assert.Equal(10, memory.PageCount);
        KeyNotFoundException e = Assert.Throws<KeyNotFoundException>(() => memory["nope"]);
        Assert.Contains("nope", e.Message);
    }

    [Fact]
    public void RejectsADuplicateNameAndFreesEveryBlock()
    {
        var memory = new GuestMemory();
        RamBlock ram = memory.AddBlock("pc.ram", 4096);
        Assert.Throws<ArgumentException>(() => memory.AddBlock("pc.ram", 4096));
        memory.Dispose();
        Assert.True(ram.IsDisposed);
    }
}
