using System.CommandLine;
using Engine.Multifd;

namespace Engine.Cli.Commands;

/// <summary>
/// multifd's parameters as command-line options (QEMU's names), for migrate, incoming and relay; they map to
/// <see cref="Engine.Migration.MigrationParameters"/> in <see cref="MigrationOptions.Build"/>.
/// </summary>
internal sealed class MultifdOptions
{
    public Option<bool> Enabled { get; } = new("--multifd") { Description = "The multifd capability: a main connection plus --multifd-channels connections in QEMU 7.2's multifd format (implied by the options below)." };

    public Option<int> Channels { get; } = new("--multifd-channels") { Description = "multifd-channels, 1-255.", DefaultValueFactory = _ => ThreadCounts.DefaultMultifdChannels };

    public Option<string> Compression { get; } = new("--multifd-compression") { Description = "multifd-compression: none, zlib or zstd.", DefaultValueFactory = _ => "none" };

    public Option<int> ZlibLevel { get; } = new("--multifd-zlib-level") { Description = "multifd-zlib-level, 0-9.", DefaultValueFactory = _ => 1 };

    public Option<int> ZstdLevel { get; } = new("--multifd-zstd-level") { Description = "multifd-zstd-level, 0-20 (0 = libzstd's default, 3).", DefaultValueFactory = _ => 1 };

    public Option<string?> Uuid { get; } = new("--uuid") { Description = "The UUID multifd channels carry (QEMU's -uuid); default all zero, as QEMU without -uuid." };

    public Option<bool> NoReply { get; } = new("--no-reply") { Description = "multifd source: the destination is QEMU, which sends no reply; finish once the stream is written (no checksum comparison)." };

    public void AddTo(Command command, bool source)
    {
        command.Options.Add(Enabled);
        command.Options.Add(Channels);
        command.Options.Add(Compression);
        if (source)
        {
            command.Options.Add(ZlibLevel);
            command.Options.Add(ZstdLevel);
            command.Options.Add(NoReply);
        }

        command.Options.Add(Uuid);
    }

    /// <summary>True when multifd is asked for: <c>--multifd</c>, or any multifd option given.</summary>
    public bool IsRequested(ParseResult parse, bool source)
        => parse.GetValue(Enabled)
            || parse.GetResult(Channels) is { Implicit: false }
            || parse.GetResult(Compression) is { Implicit: false }
            || (source && (parse.GetResult(ZlibLevel) is { Implicit: false } || parse.GetResult(ZstdLevel) is { Implicit: false }));

    /// <summary><c>--uuid</c> (QEMU's <c>-uuid</c>, in its byte order), or all zero.</summary>
    public Guid ParseUuid(ParseResult parse)
        => parse.GetValue(Uuid) is string uuid ? new Guid(MultifdFormat.ParseUuid(uuid), bigEndian: true) : Guid.Empty;
}
