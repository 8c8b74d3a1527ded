using System.CommandLine;
using System.Globalization;
using Engine.Codecs;
using Engine.Migration;

namespace Engine.Cli.Commands;

/// <summary>The migration parameters as command-line options (QEMU's names), shared by migrate, incoming and demo.</summary>
internal sealed class MigrationOptions
{
    public Option<string> Method { get; } = new("--compress-method") { Description = "compress-method: none, zlib or zstd.", DefaultValueFactory = _ => "zlib" };

    public Option<int> Level { get; } = new("--compress-level") { Description = "compress-level (zlib 0-9, zstd 1-22 or -1 to -100).", DefaultValueFactory = _ => 1 };

    public Option<int> CompressThreads { get; } = new("--compress-threads") { Description = "compress-threads, 1-255.", DefaultValueFactory = _ => 8 };

    public Option<int> DecompressThreads { get; } = new("--decompress-threads") { Description = "decompress-threads, 1-255.", DefaultValueFactory = _ => 2 };

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

    public static string Kb(long bytes) => (bytes >> 10).ToString(CultureInfo.InvariantCulture);
}
