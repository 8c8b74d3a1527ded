using Engine.Memory;

namespace Engine.Migration;

/// <summary>
/// The source's guest as a migration sees it: its RAM blocks, the dirty log that says which pages were written, and
/// (optionally) control of its vCPUs. A host builds one over memory it owns (<see cref="FromBlocks"/>, with blocks
/// <see cref="RamBlock.Wrap"/>ped around its guest RAM); an image file becomes one with <see cref="FromImage"/>.
/// </summary>
public sealed class MigrationGuest : IDisposable
{
    private MigrationGuest(GuestMemory memory, IDirtyLog dirtyLog, IGuestControl? control)
    {
        Memory = memory;
        DirtyLog = dirtyLog;
        Control = control;
    }

    /// <summary>The guest's RAM blocks, in the order they go on the wire.</summary>
    public GuestMemory Memory { get; }

    /// <summary>The dirty log the migration asks at every sync.</summary>
    public IDirtyLog DirtyLog { get; }

    /// <summary>The guest's vCPUs, if the migration may pause, resume and throttle them; null for a still guest.</summary>
    public IGuestControl? Control { get; }

    /// <summary>
    /// A guest over <paramref name="blocks"/> (for example <see cref="RamBlock.Wrap"/>ped around the host's own memory),
    /// with the host's <paramref name="dirtyLog"/> (null: a still guest, nothing is ever written) and vCPU
    /// <paramref name="control"/> (null: nothing to pause). The guest disposes the blocks (a wrapped block frees nothing)
    /// and, if it is <see cref="IDisposable"/>, the control.
    /// </summary>
    /// <exception cref="ArgumentException">No blocks, or two blocks with one name.</exception>
    public static MigrationGuest FromBlocks(IEnumerable<RamBlock> blocks, IDirtyLog? dirtyLog = null, IGuestControl? control = null)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        var memory = new GuestMemory();
        foreach (RamBlock block in blocks)
        {
            memory.AddBlock(block);
        }

        if (memory.Blocks.Count == 0)
        {
            throw new ArgumentException("a guest needs at least one RAM block", nameof(blocks));
        }

        return new MigrationGuest(memory, dirtyLog ?? new DirtyPageLog(memory), control);
    }

    /// <summary>
    /// A guest over <paramref name="memory"/>'s blocks, which it then owns; <paramref name="dirtyLog"/> null for a clean
    /// <see cref="DirtyPageLog"/>.
    /// </summary>
    public static MigrationGuest FromMemory(GuestMemory memory, IDirtyLog? dirtyLog = null, IGuestControl? control = null)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (memory.Blocks.Count == 0)
        {
            throw new ArgumentException("a guest needs at least one RAM block", nameof(memory));
        }

        return new MigrationGuest(memory, dirtyLog ?? new DirtyPageLog(memory), control);
    }

    /// <summary>
    /// A still guest whose one block is the raw memory image <paramref name="path"/> (a partial last page reads as zeros),
    /// mapped copy-on-write: the image is not copied, and writes to the guest never reach the file.
    /// </summary>
    /// <exception cref="IOException">The file cannot be read.</exception>
    /// <exception cref="InvalidDataException">The file is empty.</exception>
    public static MigrationGuest FromImage(string path, string blockName = "pc.ram")
    {
        ArgumentNullException.ThrowIfNull(path);
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new IOException($"{info.FullName}: no such file");
        }

        return FromBlocks([RamBlock.MapImage(blockName, info.FullName)]);
    }

    /// <summary>Disposes the control (if disposable: the writers' threads stop first), then frees the memory.</summary>
    public void Dispose()
    {
        try
        {
            (Control as IDisposable)?.Dispose();
        }
        finally
        {
            Memory.Dispose();
        }
    }
}
