using System.CommandLine;
using Engine.Tools;

namespace Engine.Cli.Commands;

/// <summary>The receiving commands' input, <c>--listen tcp:HOST:PORT</c> or <c>--from file:PATH</c> (incoming, relay).</summary>
internal static class EndpointOptions
{
    /// <summary>The one of <paramref name="listen"/> and <paramref name="from"/> given; throws <see cref="EngineParameterException"/> unless exactly one is, of its kind.</summary>
    public static MigrationEndpoint ListenOrFrom(ParseResult parse, Option<string?> listen, Option<string?> from)
    {
        string? listenUri = parse.GetValue(listen);
        string? fromUri = parse.GetValue(from);
        if ((listenUri is null) == (fromUri is null))
        {
            throw new EngineParameterException("listen", "give exactly one of --listen tcp:HOST:PORT or --from file:PATH");
        }

        MigrationEndpoint endpoint = MigrationEndpoint.Parse(listenUri ?? fromUri!, listenUri is null ? "from" : "listen");
        if (endpoint.IsTcp != (listenUri is not null))
        {
            throw new EngineParameterException(listenUri is null ? "from" : "listen", listenUri is null ? "--from takes file:PATH" : "--listen takes tcp:HOST:PORT");
        }

        return endpoint;
    }
}
