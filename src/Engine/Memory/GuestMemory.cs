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
    public long PageCount => TotalSize >> PageSizes.PageShift;

    /// <summary>Allocates a new zeroed block and adds it; its memory belongs to this guest memory.</summary>
    public RamBlock AddBlock(string name, long size)
    {
        ThrowIfNameTaken(name);
        return AddBlock(new RamBlock(name, size));
    }

    /// <summary>
    /// A new zeroed block for a destination, which writes only the pages that arrive: in 2 MiB pages, each 2 MiB region
    /// populated once before its first page is written (<see cref="RamBlock.PopulateByRegion"/>), with a bit per written
    /// page (<see cref="RamBlock.TrackWrites"/>), so that zero pages and the checksum never read memory that was never
    /// written. Every writer of such a block marks the pages it writes, before writing them
    /// (<see cref="RamBlock.MarkWritten(long)"/>).
    /// </summary>
    internal RamBlock AddReceivingBlock(string name, long size)
    {
        ThrowIfNameTaken(name);
        return AddBlock(RamBlock.AllocateReceiving(name, size));
    }

    /// <summary>
    /// Adds <paramref name="block"/> (for example one <see cref="RamBlock.Wrap"/>ped over the host's own memory); the guest
    /// memory disposes it with the others.
    /// </summary>
    /// <exception cref="ArgumentException">A block of that name is already there.</exception>
    public RamBlock AddBlock(RamBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        ThrowIfNameTaken(block.Name);
        _blocks.Add(block);
        _byName.Add(block.Name, block);
        TotalSize += block.Size;
        return block;
    }

    private void ThrowIfNameTaken(string name)
    {
        if (_byName.ContainsKey(name))
        {
            throw new ArgumentException($"guest memory already has a RAM block named '{name}'", nameof(name));
        }
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
