using System.CommandLine;
using System.Net;
using Engine.Migration;
using Engine.Transport;

namespace Engine.Cli.Commands;

/// <summary>
/// The TLS options as QEMU names its parameters (<c>tls-creds</c>, <c>tls-hostname</c>, <c>tls-authz</c>), shared by
/// migrate, incoming and relay. The credentials are loaded and checked when the options are built, before any connection.
/// </summary>
internal sealed class TlsCliOptions
{
    /// <summary>
    /// The options <c>--tls-creds</c>, <c>--tls-hostname</c> and <c>--tls-authz</c>, or with <paramref name="prefix"/> (e.g.
    /// <c>listen-</c>) <c>--listen-tls-creds</c> and so on, for a command with two sides (<c>engine relay</c>).
    /// </summary>
    public TlsCliOptions(string prefix = "")
    {
        Creds = new($"--{prefix}tls-creds")
        {
            Description = "Run TLS with mutual X.509 as QEMU's tls-creds-x509: DIR holds ca-cert.pem and server-cert.pem/server-key.pem (listening end) or client-cert.pem/client-key.pem (connecting end). Peers are verified. With multifd, every channel runs TLS too.",
        };
        Hostname = new($"--{prefix}tls-hostname")
        {
            Description = "The name the destination's certificate must carry (DNS name or IP); default: the host of --to.",
        };
        Authz = new($"--{prefix}tls-authz")
        {
            Description = "Accept only client certificates with one of these subjects: DN[;DN...], e.g. 'CN=client,O=Example'.",
        };
    }

    public Option<string?> Creds { get; }

    public Option<string?> Hostname { get; }

    public Option<string?> Authz { get; }

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

    /// <summary>
    /// The connecting end's TLS from <paramref name="parameters"/> (built by <see cref="MigrationOptions.Build"/> with these
    /// options), or null without <c>--tls-creds</c>. Loads and checks the files now.
    /// </summary>
    public TlsOptions? BuildClient(ParseResult parse, MigrationParameters parameters, TimeSpan handshakeTimeout)
    {
        if (parameters.TlsCreds is null)
        {
            Refuse(parse, Hostname);
        }

        return parameters.CreateClientTls(handshakeTimeout);
    }

    /// <summary>
    /// The listening end's TLS from <paramref name="parameters"/> (built by <see cref="MigrationOptions.Build"/> with these
    /// options), or null without <c>--tls-creds</c>. Loads and checks the files now.
    /// </summary>
    public TlsOptions? BuildServer(ParseResult parse, MigrationParameters parameters, TimeSpan handshakeTimeout)
    {
        if (parameters.TlsCreds is null)
        {
            Refuse(parse, Authz);
        }

        return parameters.CreateServerTls(handshakeTimeout);
    }

    /// <summary>True when <paramref name="host"/> is a loopback address or name (listening there exposes nothing to the network).</summary>
    public static bool IsLoopback(string host)
        => host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || (IPAddress.TryParse(host, out IPAddress? address) && IPAddress.IsLoopback(address));

    /// <summary>
    /// Says on stderr where <paramref name="command"/> listens (also with --json: with port 0 this is how a caller learns the
    /// port) and whether with TLS; warns when a non-loopback address is listened on without it.
    /// </summary>
    public static void Announce(string command, System.Net.EndPoint local, string host, TlsOptions? tls, string tlsOption = "--tls-creds")
    {
        Console.Error.WriteLine($"engine {command}: listening on {local}");
        if (tls is not null)
        {
            Console.Error.WriteLine($"engine {command}: TLS with {tls.Credentials.Directory}; source certificates verified against its ca-cert.pem{(tls.AuthorizedSubjects is { Count: > 0 } a ? $" and tls-authz ({string.Join("; ", a)})" : "")}");
        }
        else if (!IsLoopback(host))
        {
            Console.Error.WriteLine($"engine {command}: warning: no TLS on a non-loopback address: the guest's memory crosses the network in clear, and any host that reaches this port can send a migration (see {tlsOption})");
        }
    }

    /// <summary>
    /// Accepts a migration's (main) connection through <paramref name="accept"/>. A peer refused before its migration started
    /// (TLS: plaintext, no or a bad certificate, not in tls-authz, a stalled handshake) is reported and the next one waited for.
    /// </summary>
    public static Stream AcceptReportingRefusals(string command, Func<Stream> accept)
    {
        while (true)
        {
            try
            {
                return accept();
            }
            catch (EngineException e) when (e.Kind == EngineErrorKind.Security)
            {
                Console.Error.WriteLine($"engine {command}: {e.Message}");
            }
        }
    }

    private void Refuse(ParseResult parse, Option<string?> option)
    {
        if (parse.GetResult(option) is not null && parse.GetValue(option) is not null)
        {
            throw new EngineParameterException(option.Name.TrimStart('-'), $"{option.Name} needs {Creds.Name} DIR");
        }
    }
}
