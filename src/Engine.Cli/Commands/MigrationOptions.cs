using System.CommandLine;
using System.Globalization;
using Engine.Codecs;
using Engine.Migration;
using Engine.Wire;

namespace Engine.Cli.Commands;

/// <summary>
/// The migration parameters as command-line options (QEMU's names), shared by every command that takes them, and the one
/// place that maps them to <see cref="MigrationParameters"/> (<see cref="Build"/>); the multifd and TLS options are declared
/// beside their commands' other options (<see cref="MultifdOptions"/>, <see cref="TlsCliOptions"/>) and mapped here too.
/// </summary>
internal sealed class MigrationOptions
{
    /// <summary>The library's defaults (QEMU's): the options' defaults are read from here, never written again.</summary>
    public static readonly MigrationParameters Defaults = new();

    public Option<string> Method { get; } = new("--compress-method") { Description = "compress-method: none, zlib or zstd.", DefaultValueFactory = _ => "zlib" };

    public Option<int> Level { get; } = new("--compress-level") { Description = "compress-level (zlib 0-9, zstd 1-22 or -1 to -100).", DefaultValueFactory = _ => 1 };

    public Option<int> CompressThreads { get; } = new("--compress-threads") { Description = "compress-threads, 1-255.", DefaultValueFactory = _ => Defaults.CompressThreads };

    public Option<int> DecompressThreads { get; } = new("--decompress-threads") { Description = "decompress-threads, 1-255.", DefaultValueFactory = _ => Defaults.DecompressThreads };

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

    /// <summary>
    /// The parameters the command line gives: each option the command has (given or by its default) sets its parameter, the
    /// others keep QEMU's default; with <paramref name="multifd"/> the multifd-* options, with <paramref name="tls"/> the
    /// tls-* ones (of one side, for a command with two). Each setter validates: a bad value stops here, before anything starts.
    /// </summary>
    public MigrationParameters Build(ParseResult parse, MultifdOptions? multifd = null, TlsCliOptions? tls = null)
    {
        var p = new MigrationParameters();
        if (Has(parse, Method) || Has(parse, Level))
        {
            p.Compression = CompressionSettings.Parse(parse.GetValue(Method)!, parse.GetValue(Level));
        }

        Apply(parse, CompressThreads, v => p.CompressThreads = v);
        Apply(parse, DecompressThreads, v => p.DecompressThreads = v);
        Apply(parse, NoWaitThread, v => p.CompressWaitThread = !v);
        Apply(parse, Bandwidth, v => p.MaxBandwidth = MigrationParameters.ParseBandwidth(v!));
        Apply(parse, DowntimeLimit, v => p.DowntimeLimit = v);
        Apply(parse, AutoConverge, v => p.AutoConverge = v);
        if (multifd is not null)
        {
            Apply(parse, multifd.Channels, v => p.MultifdChannels = v);
            Apply(parse, multifd.Compression, v => p.MultifdCompression = MigrationParameters.ParseMultifdCompression(v!));
            Apply(parse, multifd.ZlibLevel, v => p.MultifdZlibLevel = v);
            Apply(parse, multifd.ZstdLevel, v => p.MultifdZstdLevel = v);
        }

        if (tls is not null)
        {
            Apply(parse, tls.Creds, v => p.TlsCreds = v);
            Apply(parse, tls.Hostname, v => p.TlsHostname = v);
            Apply(parse, tls.Authz, v => p.TlsAuthz = v);
        }

        return p;
    }

    /// <summary>True when the command has <paramref name="option"/> (given, or by its default).</summary>
    private static bool Has(ParseResult parse, Option option) => parse.GetResult(option) is not null;

    private static void Apply<T>(ParseResult parse, Option<T> option, Action<T?> set)
    {
        if (Has(parse, option))
        {
            set(parse.GetValue(option));
        }
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

        if (bytes < PageCodecs.PageSize || bytes > 64L << 30 || bytes % PageCodecs.PageSize != 0)
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
    public static (string Name, long Size)[] ParseBlocks(string text, string parameter)
    {
        string[] items = text.Split(',', StringSplitOptions.TrimEntries);
        var blocks = new List<(string Name, long Size)>(items.Length);
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

            blocks.Add((name, size));
        }

        return blocks.ToArray();
    }

    /// <summary>The name of a guest's first (main) RAM block, as QEMU's PC machines call it.</summary>
    public const string DefaultBlockName = "pc.ram";

    public static string Kb(long bytes) => (bytes >> 10).ToString(CultureInfo.InvariantCulture);
}
