using System.CommandLine;

namespace Engine.Cli.Commands;

/// <summary>
/// multifd's parameters as command-line options (QEMU's names), for migrate, incoming and relay; they map to
/// <see cref="Engine.Migration.MigrationParameters"/> in <see cref="MigrationOptions.Build"/>.
/// </summary>
/// <remarks>
/// With a prefix (<c>to-</c>: relay's destination side) the options are <c>--to-multifd</c>, <c>--to-multifd-channels</c>
/// and so on, and the UUID is the one <paramref name="sharedUuid"/> (the other side's <c>--uuid</c>): both QEMUs of one
/// migration carry the same.
/// </remarks>
internal sealed class MultifdOptions(string prefix = "", Option<string?>? sharedUuid = null)
{
    public Option<bool> Enabled { get; } = new($"--{prefix}multifd") { Description = prefix.Length == 0 ? "The multifd capability: a main connection plus --multifd-channels connections in QEMU 7.2's multifd format (implied by the options below)." : $"multifd to the destination: a main connection plus --{prefix}multifd-channels connections in QEMU's multifd format (implied by the --{prefix}multifd options)." };

    public Option<int> Channels { get; } = new($"--{prefix}multifd-channels") { Description = "multifd-channels, 1-255.", DefaultValueFactory = _ => MigrationOptions.Defaults.MultifdChannels };

    public Option<string> Compression { get; } = new($"--{prefix}multifd-compression") { Description = "multifd-compression: none, zlib or zstd.", DefaultValueFactory = _ => "none" };

    public Option<int> ZlibLevel { get; } = new($"--{prefix}multifd-zlib-level") { Description = "multifd-zlib-level, 0-9.", DefaultValueFactory = _ => 1 };

    public Option<int> ZstdLevel { get; } = new($"--{prefix}multifd-zstd-level") { Description = "multifd-zstd-level, 0-20 (0 = libzstd's default, 3).", DefaultValueFactory = _ => 1 };

    public Option<string?> Uuid { get; } = sharedUuid ?? new("--uuid") { Description = "The UUID multifd channels carry (QEMU's -uuid); default all zero, as QEMU without -uuid." };

    public Option<bool> NoReply { get; } = new("--no-reply") { Description = "The destination is QEMU, which sends no reply (one stream or multifd): finish once the stream is written (no checksum comparison)." };

    public void AddTo(Command command, bool source)
    {
        command.Options.Add(Enabled);
        command.Options.Add(Channels);
        command.Options.Add(Compression);
        if (source)
        {
            command.Options.Add(ZlibLevel);
            command.Options.Add(ZstdLevel);
            if (prefix.Length == 0)
            {
                command.Options.Add(NoReply);
            }
        }

        if (sharedUuid is null)
        {
            command.Options.Add(Uuid);
        }
    }

    /// <summary>True when multifd is asked for: <c>--multifd</c>, or any multifd option given.</summary>
    public bool IsRequested(ParseResult parse, bool source)
        => parse.GetValue(Enabled)
            || parse.GetResult(Channels) is { Implicit: false }
            || parse.GetResult(Compression) is { Implicit: false }
            || (source && (parse.GetResult(ZlibLevel) is { Implicit: false } || parse.GetResult(ZstdLevel) is { Implicit: false }));

    /// <summary>
    /// <c>--uuid</c> (QEMU's <c>-uuid</c>, in its byte order), or all zero: 32 hex digits, hyphens anywhere ignored; else an
    /// <see cref="EngineParameterException"/> naming <c>uuid</c>.
    /// </summary>
    public Guid ParseUuid(ParseResult parse)
    {
        if (parse.GetValue(Uuid) is not string text)
        {
            return Guid.Empty;
        }

        string hex = text.Replace("-", "", StringComparison.Ordinal);
        if (hex.Length != 32 || !hex.All(Uri.IsHexDigit))
        {
            throw new EngineParameterException("uuid", $"uuid '{text}' is not a UUID: accepted 8-4-4-4-12 hex digits, e.g. 00000000-0000-0000-0000-000000000000");
        }

        return new Guid(Convert.FromHexString(hex), bigEndian: true);
    }
}
