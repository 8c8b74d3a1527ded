using System.CommandLine;
using System.Globalization;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Wire;

namespace Engine.Cli.Commands;

/// <summary>The migration parameters as command-line options (QEMU's names), shared by migrate, incoming and demo.</summary>
internal sealed class MigrationOptions
{
    public Option<string> Method { get; } = new("--compress-method") { Description = "compress-method: none, zlib or zstd.", DefaultValueFactory = _ => "zlib" };

    public Option<int> Level { get; } = new("--compress-level") { Description = "compress-level (zlib 0-9, zstd 1-22 or -1 to -100).", DefaultValueFactory = _ => 1 };

    public Option<int> CompressThreads { get; } = new("--compress-threads") { Description = "compress-threads, 1-255.", DefaultValueFactory = _ => ThreadCounts.DefaultCompress };

    public Option<int> DecompressThreads { get; } = new("--decompress-threads") { Description = "decompress-threads, 1-255.", DefaultValueFactory = _ => ThreadCounts.DefaultDecompress };

    public Option<bool> NoWaitThread { get; } = new("--no-compress-wait-thread") { Description = "compress-wait-thread off: send a page raw when every worker is busy." };

    public Option<string> Bandwidth { get; } = new("--max-bandwidth") { Description = "max-bandwidth: bytes/s, or 100M, 1G (1024-based bytes), 100Mbit (bits), 0 = unlimited.", DefaultValueFactory = _ => "128M" };

    public Option<long> DowntimeLimit { get; } = new("--downtime-limit") { Description = "downtime-limit in ms, 0-2000000.", DefaultValueFactory = _ => 300 };

    public Option<bool> AutoConverge { get; } = new("--auto-converge") { Description = "Throttle the guest when it dirties memory faster than it is sent." };

    public void AddTo(Command command, bool source)
    {
        command.Options.Add(Method);
        command.Options.Add(Level);
        command.Options.Add(DecompressThreads);
        if (source)
        {
            command.Options.Add(CompressThreads);
            command.Options.Add(NoWaitThread);
            command.Options.Add(Bandwidth);
            command.Options.Add(DowntimeLimit);
            command.Options.Add(AutoConverge);
        }
    }

    public MigrationParameters Build(ParseResult parse)
    {
        // Each setter validates; a bad value stops here, before anything starts.
        return new MigrationParameters
        {
            Compression = CompressionSettings.Parse(parse.GetValue(Method)!, parse.GetValue(Level)),
            DecompressThreads = parse.GetValue(DecompressThreads),
            CompressThreads = parse.GetValue(CompressThreads),
            CompressWaitThread = !parse.GetValue(NoWaitThread),
            MaxBandwidth = MigrationParameters.ParseBandwidth(parse.GetValue(Bandwidth)!),
            DowntimeLimit = parse.GetValue(DowntimeLimit),
            AutoConverge = parse.GetValue(AutoConverge),
        };
    }

    /// <summary>Parses a guest size such as <c>512M</c>, <c>1G</c>, <c>65536</c> (bytes), into a whole number of pages.</summary>
    public static long ParseSize(string text, string parameter)
    {
        long bytes;
        try
        {
            bytes = MigrationParameters.ParseBandwidth(text); // same units: K, M, G, T (1024-based)
        }
        catch (EngineParameterException)
        {
            throw new EngineParameterException(parameter, $"{parameter} '{text}' is not a size: accepted bytes or a number with K, M, G (1024-based), e.g. 256M");
        }

        if (bytes < PageSizes.PageSize || bytes > 64L << 30 || bytes % PageSizes.PageSize != 0)
        {
            throw new EngineParameterException(parameter, $"{parameter} '{text}' is out of range: accepted 4K to 64G, a multiple of 4096 bytes");
        }

        return bytes;
    }

    /// <summary>
    /// Parses a synthetic guest's RAM blocks: <c>SIZE[,NAME:SIZE]...</c>, e.g. <c>256M</c> (one block, <c>pc.ram</c>) or
    /// <c>256M,vga.vram:16M</c>; the first block may be named too (<c>pc.ram:256M</c>). Sizes as <see cref="ParseSize"/>;
    /// names are unique and 1 to 255 bytes (the stream's limit); 64 GiB in all at most.
    /// </summary>
    public static RamBlockInfo[] ParseBlocks(string text, string parameter)
    {
        string[] items = text.Split(',', StringSplitOptions.TrimEntries);
        var blocks = new List<RamBlockInfo>(items.Length);
        long total = 0;
        for (int i = 0; i < items.Length; i++)
        {
            string item = items[i];
            int colon = item.LastIndexOf(':');
            string name = colon >= 0 ? item[..colon] : i == 0 ? DefaultBlockName : "";
            if (name.Length == 0 || System.Text.Encoding.UTF8.GetByteCount(name) > 255)
            {
                throw new EngineParameterException(parameter, $"{parameter} '{text}': block '{item}' needs a name of 1 to 255 bytes: use NAME:SIZE (only the first block may omit it: {DefaultBlockName})");
            }

            if (blocks.Any(b => b.Name == name))
            {
                throw new EngineParameterException(parameter, $"{parameter} '{text}': block name '{name}' is given twice");
            }

            long size = ParseSize(item[(colon + 1)..], parameter);
            total += size;
            if (total > 64L << 30)
            {
                throw new EngineParameterException(parameter, $"{parameter} '{text}' is out of range: at most 64G of RAM in all");
            }

            blocks.Add(new RamBlockInfo(name, size));
        }

        return blocks.ToArray();
    }

    /// <summary>The name of a guest's first (main) RAM block, as QEMU's PC machines call it.</summary>
    public const string DefaultBlockName = "pc.ram";

    public static string Kb(long bytes) => (bytes >> 10).ToString(CultureInfo.InvariantCulture);
}
