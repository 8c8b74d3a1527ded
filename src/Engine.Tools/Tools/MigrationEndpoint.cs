using System.Globalization;

namespace Engine.Tools;

/// <summary>Where a migration goes or comes from: <c>tcp:HOST:PORT</c> or <c>file:PATH</c> (QEMU's URI forms).</summary>
public sealed record MigrationEndpoint
{
    /// <summary>True for TCP, false for a file.</summary>
    public bool IsTcp { get; init; }

    /// <summary>The host (TCP).</summary>
    public string Host { get; init; } = "";

    /// <summary>The port (TCP; 0 when listening lets the system choose).</summary>
    public int Port { get; init; }

    /// <summary>The path (file).</summary>
    public string Path { get; init; } = "";

    /// <summary>Parses <c>tcp:HOST:PORT</c> (HOST may be <c>[v6]</c>) or <c>file:PATH</c>; throws <see cref="EngineParameterException"/>.</summary>
    public static MigrationEndpoint Parse(string uri, string parameter = "uri")
    {
        ArgumentNullException.ThrowIfNull(uri);
        if (uri.StartsWith("file:", StringComparison.Ordinal) && uri.Length > 5)
        {
            return new MigrationEndpoint { Path = uri[5..] };
        }

        if (uri.StartsWith("tcp:", StringComparison.Ordinal))
        {
            string rest = uri[4..];
            int colon = rest.LastIndexOf(':');
            if (colon > 0 && int.TryParse(rest[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out int port) && port is >= 0 and <= 65535)
            {
                string host = rest[..colon].Trim('[', ']');
                if (host.Length > 0)
                {
                    return new MigrationEndpoint { IsTcp = true, Host = host, Port = port };
                }
            }
        }

        throw new EngineParameterException(parameter, $"{parameter} '{uri}' is not accepted: use tcp:HOST:PORT (port 0 to 65535) or file:PATH");
    }

    /// <inheritdoc />
    public override string ToString() => IsTcp ? $"tcp:{Host}:{Port}" : $"file:{Path}";
}
