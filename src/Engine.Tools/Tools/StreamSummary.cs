using Engine.Wire;

namespace Engine.Tools;

/// <summary>What <see cref="StreamInspector"/> found in a migration stream: the data behind <c>engine inspect</c>.</summary>
public sealed class StreamSummary
{
    /// <summary>The file version (3).</summary>
    public uint FileVersion { get; set; }

    /// <summary>The machine type of the configuration section, or null.</summary>
    public string? MachineType { get; set; }

    /// <summary>Capabilities named by the configuration section.</summary>
    public IReadOnlyList<string> Capabilities { get; set; } = Array.Empty<string>();

    /// <summary>True for a QEMU mapped-ram file: pages at fixed file offsets (see each block's offsets), none in the stream.</summary>
    public bool MappedRam { get; set; }

    /// <summary>The RAM section's id.</summary>
    public uint RamSectionId { get; set; }

    /// <summary>RAM sections by type: START, PART, END.</summary>
    public long StartSections { get; set; }

    /// <summary>PART sections of RAM.</summary>
    public long PartSections { get; set; }

    /// <summary>END sections of RAM.</summary>
    public long EndSections { get; set; }

    /// <summary>Command sections.</summary>
    public long Commands { get; set; }

    /// <summary>The RAM blocks, with per-block record counts.</summary>
    public List<BlockSummary> Blocks { get; } = new();

    /// <summary>Total RAM announced.</summary>
    public long TotalRamBytes { get; set; }

    /// <summary>Record counts and bytes (headers included) by kind.</summary>
    public RecordStats Zero { get; } = new();

    /// <summary>Raw pages.</summary>
    public RecordStats Raw { get; } = new();

    /// <summary>zlib compressed pages.</summary>
    public RecordStats Zlib { get; } = new();

    /// <summary>zstd compressed pages.</summary>
    public RecordStats Zstd { get; } = new();

    /// <summary>XBZRLE deltas.</summary>
    public RecordStats Xbzrle { get; } = new();

    /// <summary>EOS markers.</summary>
    public RecordStats EndOfSection { get; } = new();

    /// <summary>MULTIFD_FLUSH markers.</summary>
    public RecordStats MultifdFlush { get; } = new();

    /// <summary>zlib pages by header level class: index 0 fastest (78 01), 1 fast (78 5E), 2 default (78 9C), 3 best (78 DA).</summary>
    public long[] ZlibLevelClasses { get; } = new long[4];

    /// <summary>Bytes of compressed payload (without record headers and length fields).</summary>
    public long CompressedPayloadBytes { get; set; }

    /// <summary>True when RAM's END was reached.</summary>
    public bool RamComplete { get; set; }

    /// <summary>Offset just past RAM's END footer.</summary>
    public long RamEndOffset { get; set; }

    /// <summary>Bytes after RAM's END (device sections, EOF, VM description), not parsed.</summary>
    public long BytesAfterRam { get; set; }

    /// <summary>The whole stream's length.</summary>
    public long TotalBytes { get; set; }

    /// <summary>Writes the summary as the text <c>engine inspect</c> prints.</summary>
    public void WriteText(TextWriter output)
    {
        output.WriteLine($"file:           QEVM version {FileVersion}, {TotalBytes} bytes");
        output.WriteLine($"configuration:  {MachineType ?? "(none)"}{(Capabilities.Count > 0 ? " capabilities: " + string.Join(",", Capabilities) : string.Empty)}");
        output.WriteLine($"ram section:    id {RamSectionId}; START {StartSections}, PART {PartSections}, END {EndSections}; commands {Commands}");
        output.WriteLine($"ram blocks:     {Blocks.Count}, {TotalRamBytes} bytes ({TotalRamBytes / (1024.0 * 1024.0):0.#} MiB)");
        if (MappedRam)
        {
            output.WriteLine("mapped-ram:     yes: pages at fixed file offsets, present where the block's bitmap has a bit set, zero elsewhere");
        }

        foreach (BlockSummary block in Blocks)
        {
            if (block.MappedPages is long present)
            {
                output.WriteLine($"  {block.Name,-36} {block.Length,12}  pages present {present} of {block.Length / 4096}; bitmap at {block.BitmapOffset} ({block.BitmapSize} bytes), pages at {block.PagesOffset}");
            }
            else
            {
                output.WriteLine($"  {block.Name,-36} {block.Length,12}  zero {block.ZeroPages}, raw {block.RawPages}, compressed {block.CompressedPages}, xbzrle {block.XbzrlePages}");
            }
        }

        output.WriteLine($"records:        {"count",12} {"bytes",14}");
        WriteStats(output, "zero", Zero);
        WriteStats(output, "raw", Raw);
        WriteStats(output, "zlib", Zlib);
        WriteStats(output, "zstd", Zstd);
        WriteStats(output, "xbzrle", Xbzrle);
        WriteStats(output, "eos", EndOfSection);
        WriteStats(output, "multifd-flush", MultifdFlush);
        long compressed = Zlib.Count + Zstd.Count;
        if (compressed > 0)
        {
            output.WriteLine($"compression:    {(Zlib.Count > 0 ? "zlib " : string.Empty)}{(Zstd.Count > 0 ? "zstd" : string.Empty)}; ratio {compressed * 4096.0 / Math.Max(1, CompressedPayloadBytes):0.00} over compressed pages");
            if (Zlib.Count > 0)
            {
                output.WriteLine($"zlib headers:   78 01 {ZlibLevelClasses[0]}, 78 5E {ZlibLevelClasses[1]}, 78 9C {ZlibLevelClasses[2]}, 78 DA {ZlibLevelClasses[3]}");
            }
        }

        output.WriteLine(RamComplete
            ? $"ram end:        byte {RamEndOffset}; {BytesAfterRam} bytes follow (device state, EOF, VM description; not parsed)"
            : "ram end:        not reached");
    }

    private static void WriteStats(TextWriter output, string name, RecordStats stats)
    {
        if (stats.Count > 0)
        {
            output.WriteLine($"  {name,-14} {stats.Count,12} {stats.Bytes,14}");
        }
    }
}
