using System.CommandLine;
using System.Net;
using Engine.Transport;

namespace Engine.Cli.Commands;

/// <summary>
/// The TLS options as QEMU names its parameters (<c>tls-creds</c>, <c>tls-hostname</c>, <c>tls-authz</c>), shared by
/// migrate, incoming and relay. The credentials are loaded and checked when the options are built, before any connection.
/// </summary>
internal sealed class TlsCliOptions
{
    public Option<string?> Creds { get; } = new("--tls-creds")
    {
        Description = "Run TLS with mutual X.509 as QEMU's tls-creds-x509: DIR holds ca-cert.pem and server-cert.pem/server-key.pem (listening end) or client-cert.pem/client-key.pem (connecting end). Peers are verified.",
    };

    public Option<string?> Hostname { get; } = new("--tls-hostname")
    {
        Description = "The name the destination's certificate must carry (DNS name or IP); default: the host of --to.",
    };

    public Option<string?> Authz { get; } = new("--tls-authz")
    {
        Description = "Accept only client certificates with one of these subjects: DN[;DN...], e.g. 'CN=client,O=Example'.",
    };

    /// <summary>Adds the options for a connecting end (<paramref name="client"/>) and/or a listening end (<paramref name="server"/>).</summary>
    public void AddTo(Command command, bool client, bool server)
    {
        command.Options.Add(Creds);
        if (client)
        {
            command.Options.Add(Hostname);
        }

        if (server)
        {
            command.Options.Add(Authz);
        }
    }

    /// <summary>The connecting end's TLS, or null without <c>--tls-creds</c>. Loads and checks the files now.</summary>
    public TlsOptions? BuildClient(ParseResult parse, TimeSpan handshakeTimeout)
    {
        string? dir = parse.GetValue(Creds);
        if (dir is null)
        {
            Refuse(parse, Hostname, "--tls-hostname");
            return null;
        }

        return new TlsOptions
        {
            Credentials = TlsCredentials.Load(dir, TlsRole.Client),
            Hostname = parse.GetValue(Hostname),
            HandshakeTimeout = handshakeTimeout,
        };
    }

    /// <summary>The listening end's TLS, or null without <c>--tls-creds</c>. Loads and checks the files now.</summary>
    public TlsOptions? BuildServer(ParseResult parse, TimeSpan handshakeTimeout)
    {
        string? dir = parse.GetValue(Creds);
        string? authz = parse.GetValue(Authz);
        if (dir is null)
        {
            Refuse(parse, Authz, "--tls-authz");
            return null;
        }

        return new TlsOptions
        {
            Credentials = TlsCredentials.Load(dir, TlsRole.Server),
            AuthorizedSubjects = authz is null ? null : TlsOptions.ParseAuthorizedSubjects(authz),
            HandshakeTimeout = handshakeTimeout,
        };
    }

    /// <summary>True when <paramref name="host"/> is a loopback address or name (listening there exposes nothing to the network).</summary>
    public static bool IsLoopback(string host)
        => host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out IPAddress? address) && IPAddress.IsLoopback(address));

    private static void Refuse(ParseResult parse, Option<string?> option, string name)
    {
        if (parse.GetValue(option) is not null)
        {
            throw new EngineParameterException(name.TrimStart('-'), $"{name} needs --tls-creds DIR");
        }
    }
}
