using System.Collections.ObjectModel;

namespace Engine.Memory;

/// <summary>The guest's RAM: RAM blocks in the order they were added (the order QEMU sends them in), found by name.</summary>
/// <remarks>Adding blocks is not thread-safe; reading the list and the blocks' pages is.</remarks>
public sealed class GuestMemory : IDisposable
{
    private readonly List<RamBlock> _blocks = new();
    private readonly Dictionary<string, RamBlock> _byName = new(StringComparer.Ordinal);

    /// <summary>Creates an empty guest memory.</summary>
    public GuestMemory()
    {
        Blocks = new ReadOnlyCollection<RamBlock>(_blocks);
    }

    /// <summary>The blocks, in the order they were added.</summary>
    public IReadOnlyList<RamBlock> Blocks { get; }

    /// <summary>The sum of the blocks' sizes, in bytes.</summary>
    public long TotalSize { get; private set; }

    /// <summary>The total number of 4 KiB pages.</summary>
    public long PageCount => TotalSize >> Codecs.PageSizes.PageShift;

    /// <summary>Allocates a new zeroed block and adds it; its memory belongs to this guest memory.</summary>
    public RamBlock AddBlock(string name, long size)
    {
        if (_byName.ContainsKey(name))
        {
            throw new ArgumentException($"guest memory already has a RAM block named '{name}'", nameof(name));
        }

        var block = new RamBlock(name, size);
        _blocks.Add(block);
        _byName.Add(name, block);
        TotalSize += size;
        return block;
    }

    /// <summary>The block named <paramref name="name"/>; throws <see cref="KeyNotFoundException"/> naming it if there is none.</summary>
    public RamBlock this[string name] => TryGetBlock(name, out RamBlock? block)
        ? block
        : throw new KeyNotFoundException($"guest memory has no RAM block named '{name}'");

    /// <summary>Finds a block by its exact name.</summary>
    public bool TryGetBlock(string name, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out RamBlock? block)
        => _byName.TryGetValue(name, out block);

    /// <summary>Frees every block.</summary>
    public void Dispose()
    {
        foreach (RamBlock block in _blocks)
        {
            block.Dispose();
        }
    }
}
