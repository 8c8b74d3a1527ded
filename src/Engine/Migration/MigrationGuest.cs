using Engine.Codecs;
using Engine.Memory;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// The source's guest: its memory (RAM blocks), a dirty log per block, and optionally writer threads that keep dirtying
/// it. Synthetic (content from <see cref="SyntheticContent"/>) or loaded from a raw memory image.
/// </summary>
public sealed class MigrationGuest : IDisposable
{
    private readonly GuestRegion[] _regions;

    private MigrationGuest(GuestMemory memory, SyntheticContent content, GuestWriterOptions? writers)
    {
        Memory = memory;
        Content = content;
        _regions = memory.Blocks.Select(GuestRegion.For).ToArray();
        if (writers is not null && writers.PagesPerSecond > 0)
        {
            Writers = new GuestWriters(_regions, content, writers);
        }
    }

    /// <summary>The guest's RAM blocks.</summary>
    public GuestMemory Memory { get; }

    /// <summary>The regions (block memory and dirty log), in block order.</summary>
    public IReadOnlyList<GuestRegion> Regions => _regions;

    /// <summary>The content model the guest was filled with (image guests: the one their writers use).</summary>
    public SyntheticContent Content { get; }

    /// <summary>The writer threads, if the guest has any (started by <see cref="StartWriters"/>).</summary>
    public GuestWriters? Writers { get; }

    /// <summary>A synthetic guest of <paramref name="size"/> bytes in one block, filled with the calibrated content model.</summary>
    public static MigrationGuest CreateSynthetic(long size, GuestWriterOptions? writers = null, ulong seed = 1, string blockName = "pc.ram", double zeroFraction = SyntheticContent.MeasuredZeroFraction)
        => CreateSynthetic([new RamBlockInfo(blockName, size)], writers, seed, zeroFraction);

    /// <summary>
    /// A synthetic guest of several RAM blocks (e.g. <c>pc.ram</c> and <c>vga.vram</c>), in the given order, each filled with
    /// the calibrated content model. Pages are numbered across the blocks for the model, so no two blocks hold the same
    /// content; the writers dirty all of them.
    /// </summary>
    public static MigrationGuest CreateSynthetic(IReadOnlyList<RamBlockInfo> blocks, GuestWriterOptions? writers = null, ulong seed = 1, double zeroFraction = SyntheticContent.MeasuredZeroFraction)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count == 0)
        {
            throw new EngineParameterException("guest", "a guest needs at least one RAM block");
        }

        foreach (RamBlockInfo info in blocks)
        {
            if (info.Length <= 0 || info.Length % PageSizes.PageSize != 0)
            {
                throw new EngineParameterException("guest-size", $"RAM block '{info.Name}' of {info.Length} bytes is not accepted: a positive multiple of 4096 bytes");
            }

            // The stream spells a block's name with a one-byte length (QEMU's idstr).
            if (string.IsNullOrEmpty(info.Name) || System.Text.Encoding.UTF8.GetByteCount(info.Name) > 255)
            {
                throw new EngineParameterException("guest", $"RAM block name '{info.Name}' is not accepted: 1 to 255 bytes");
            }
        }

        writers?.Validate();
        var memory = new GuestMemory();
        try
        {
            var content = new SyntheticContent(seed, zeroFraction);
            long firstPageOfBlock = 0;
            foreach (RamBlockInfo info in blocks)
            {
                if (memory.Blocks.Any(b => b.Name == info.Name))
                {
                    throw new EngineParameterException("guest", $"RAM block name '{info.Name}' is given twice");
                }

                RamBlock block = memory.AddBlock(info.Name, info.Length);
                Fill(block, content, firstPageOfBlock);
                firstPageOfBlock += block.PageCount;
            }

            return new MigrationGuest(memory, content, writers);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>A guest whose one block is a raw memory image read from <paramref name="path"/> (a partial last page reads as zeros).</summary>
    public static MigrationGuest FromImage(string path, GuestWriterOptions? writers = null, string blockName = "pc.ram")
    {
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new IOException($"{info.FullName}: no such file");
        }

        if (info.Length == 0)
        {
            throw new InvalidDataException($"{info.FullName} is empty: no guest memory to migrate");
        }

        writers?.Validate();
        var memory = new GuestMemory();
        try
        {
            // Mapped, not read: the source only reads the image, so it is never copied (the writers' first write to a page
            // copies that page, privately: the file never changes).
            memory.AddBlock(RamBlock.MapImage(blockName, info.FullName));
            return new MigrationGuest(memory, new SyntheticContent(1), writers);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    private static void Fill(RamBlock block, SyntheticContent content, long modelFirstPage)
    {
        // Filling is the slow part of a big guest: spread it over the cores in 4 MiB chunks.
        const int ChunkPages = 1024;
        long pages = block.PageCount;
        Parallel.For(0, (pages + ChunkPages - 1) / ChunkPages, chunk =>
        {
            long first = chunk * ChunkPages;
            int count = (int)Math.Min(ChunkPages, pages - first);
            content.FillRegion(block.GetSpan(first * PageSizes.PageSize, count * PageSizes.PageSize), modelFirstPage + first);
        });
    }

    /// <summary>Starts the writers (no-op for a still guest).</summary>
    public void StartWriters() => Writers?.Start();

    /// <summary>Stops the writers' threads, then frees the memory.</summary>
    public void Dispose()
    {
        Writers?.Dispose();
        Memory.Dispose();
    }
}
