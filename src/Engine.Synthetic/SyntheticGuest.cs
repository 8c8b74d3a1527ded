using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;

namespace Engine.Synthetic;

/// <summary>
/// Guests for the engine command, the tests and the benchmarks: memory filled with the calibrated content model, or a
/// raw image, and optionally writer threads that keep dirtying it (<see cref="GuestWriters"/>, the guest's
/// <see cref="MigrationGuest.Control"/>).
/// </summary>
public static class SyntheticGuest
{
    /// <summary>A synthetic guest of <paramref name="size"/> bytes in one block, filled with the calibrated content model.</summary>
    public static MigrationGuest Create(long size, GuestWriterOptions? writers = null, ulong seed = 1, string blockName = "pc.ram", double zeroFraction = SyntheticContent.MeasuredZeroFraction)
        => Create([(blockName, size)], writers, seed, zeroFraction);

    /// <summary>
    /// A synthetic guest of several RAM blocks, each a name and a size in bytes (e.g. <c>pc.ram</c> and <c>vga.vram</c>), in
    /// the given order, each filled with the calibrated content model. Pages are numbered across the blocks for the model, so
    /// no two blocks hold the same content; the writers dirty all of them.
    /// </summary>
    public static MigrationGuest Create(IReadOnlyList<(string Name, long Size)> blocks, GuestWriterOptions? writers = null, ulong seed = 1, double zeroFraction = SyntheticContent.MeasuredZeroFraction)
    {
        ArgumentNullException.ThrowIfNull(blocks);
        if (blocks.Count == 0)
        {
            throw new EngineParameterException("guest", "a guest needs at least one RAM block");
        }

        foreach ((string Name, long Size) info in blocks)
        {
            if (info.Size <= 0 || info.Size % PageSizes.PageSize != 0)
            {
                throw new EngineParameterException("guest-size", $"RAM block '{info.Name}' of {info.Size} bytes is not accepted: a positive multiple of 4096 bytes");
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
            foreach ((string Name, long Size) info in blocks)
            {
                if (memory.Blocks.Any(b => b.Name == info.Name))
                {
                    throw new EngineParameterException("guest", $"RAM block name '{info.Name}' is given twice");
                }

                RamBlock block = memory.AddBlock(info.Name, info.Size);
                Fill(block, content, firstPageOfBlock);
                firstPageOfBlock += block.PageCount;
            }

            return Wrap(memory, content, writers);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <summary>A guest whose one block is the raw memory image <paramref name="path"/>, mapped copy-on-write, with writers if given.</summary>
    public static MigrationGuest FromImage(string path, GuestWriterOptions? writers = null, string blockName = "pc.ram")
    {
        writers?.Validate();
        var info = new FileInfo(path);
        if (!info.Exists)
        {
            throw new IOException($"{info.FullName}: no such file");
        }

        var memory = new GuestMemory();
        try
        {
            memory.AddBlock(RamBlock.MapImage(blockName, info.FullName));
            return Wrap(memory, new SyntheticContent(1), writers);
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    private static MigrationGuest Wrap(GuestMemory memory, SyntheticContent content, GuestWriterOptions? writers)
    {
        var log = new DirtyPageLog(memory);
        var state = new SyntheticGuestState(content, memory.Blocks.Select((b, i) => GuestRegion.For(b, log.Block(i))).ToArray());
        GuestWriters? control = writers is not null && writers.PagesPerSecond > 0 ? new GuestWriters(state.Regions, content, writers) : null;
        state.Writers = control;
        MigrationGuest guest = MigrationGuest.FromMemory(memory, log, control);
        SyntheticGuestState.Attach(guest, state);
        return guest;
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
}
