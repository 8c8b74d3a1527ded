using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Migration;
using Engine.Relay;
using Engine.Tools;
using Engine.Transport;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine relay</c>: carries a live migration between two unmodified QEMUs (or relays), re-encoding the RAM pages; or
/// replays a saved stream into a live destination.
/// </summary>
internal static class RelayCommand
{
    public static Command Create()
    {
        var listen = new Option<string?>("--listen") { Description = "Accept the source's connection: tcp:HOST:PORT (port 0: any free port, printed on stderr)." };
        var from = new Option<string?>("--from") { Description = "Replay a saved stream instead: file:PATH." };
        var to = new Option<string>("--to") { Description = "The destination: tcp:HOST:PORT (a QEMU started with -incoming tcp:..., or another relay).", Required = true };
        var timeout = new Option<int>("--timeout") { Description = "Seconds a silent peer is waited for (connect, read, write) before the relay gives up.", DefaultValueFactory = _ => 30 };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var parameters = new MigrationOptions();
        var command = new Command(
            "relay",
            "Carry a live migration from a source (QEMU or relay) to a destination (QEMU or relay), re-encoding RAM pages with "
            + "--compress-method; every non-RAM byte passes unchanged. With --from file:PATH, replay a saved stream.")
        {
            listen, from, to, timeout, json,
        };
        command.Options.Add(parameters.Method);
        command.Options.Add(parameters.Level);
        command.Options.Add(parameters.CompressThreads);
        command.Options.Add(parameters.DecompressThreads);
        parameters.Bandwidth.Description = "max-bandwidth of the outgoing link: bytes/s, or 100M, 1G (1024-based bytes), 100Mbit (bits), 0 = unlimited (default).";
        parameters.Bandwidth.DefaultValueFactory = _ => "0";
        command.Options.Add(parameters.Bandwidth);

        // A multifd source (QEMU 7.2's format) on the listen side: its channels are accepted beside the main connection and
        // the destination gets one single-stream migration.
        var multifd = new MultifdOptions();
        multifd.AddTo(command, source: false);

        // multifd on the destination side, whatever the source is: --to-multifd-channels N and the rest, QEMU's names with
        // "to-"; the UUID is --uuid's (both QEMUs of a migration carry the same).
        var toMultifd = new MultifdOptions("to-", multifd.Uuid);
        toMultifd.AddTo(command, source: true);
        var machineType = new Option<string?>("--machine-type") { Description = "The destination's machine type (e.g. pc-q35-10.0), which chooses the framing written to it: with --to-multifd, a SYNC barrier at each EOS (up to 8.0) or per round with MULTIFD_FLUSH records (8.1+); one stream is the same for every type. Default: the source's own framing (a multifd source's barriers), else for one stream the type its configuration names (a QEMU destination runs the source's type)." };
        command.Options.Add(machineType);

        // TLS, per side: --tls-creds (with --tls-hostname) for the outgoing connection, as on engine migrate;
        // --listen-tls-creds (with --listen-tls-authz) for the accepted ones (the main connection and, with multifd, each
        // channel), as on engine incoming. The connections are wrapped before MigrationRelay sees them.
        var tlsOutOptions = new TlsCliOptions();
        tlsOutOptions.Creds.Description = "TLS on the outgoing connection (--to), as QEMU's tls-creds-x509 with endpoint=client: DIR holds ca-cert.pem, client-cert.pem and client-key.pem; the destination's certificate is verified (see --tls-hostname).";
        tlsOutOptions.AddTo(command, client: true, server: false);
        var tlsInOptions = new TlsCliOptions("listen-");
        tlsInOptions.Creds.Description = "TLS on the accepted connections (--listen; with multifd every channel too), as QEMU's tls-creds-x509 with endpoint=server,verify-peer=on: DIR holds ca-cert.pem, server-cert.pem and server-key.pem; the source must present a client certificate from that CA.";
        tlsInOptions.AddTo(command, client: false, server: true);
        command.SetAction((parse, cancellationToken) => Task.Run(() => CliErrors.Run(() =>
        {
            MigrationEndpoint input = EndpointOptions.ListenOrFrom(parse, listen, from);

            MigrationEndpoint output = MigrationEndpoint.Parse(parse.GetValue(to)!, "to");
            if (!output.IsTcp)
            {
                throw new EngineParameterException("to", "--to takes tcp:HOST:PORT (to re-encode into a file, use engine transcode)");
            }

            // Two sides, two sets of parameters: the outgoing one's (what the relay writes, --tls-creds) and the accepting
            // one's (multifd, --listen-tls-creds).
            bool toMultifdRequested = toMultifd.IsRequested(parse, source: true);
            MigrationParameters outgoing;
            try
            {
                outgoing = parameters.Build(parse, toMultifdRequested ? toMultifd : null, tlsOutOptions);
            }
            catch (EngineParameterException e) when (toMultifdRequested && e.Parameter.StartsWith("multifd-", StringComparison.Ordinal))
            {
                // Named as the user wrote it: --to-multifd-channels, not the source side's --multifd-channels.
                throw new EngineParameterException("to-" + e.Parameter, "to-" + e.Message);
            }

            MigrationParameters accepting = parameters.Build(parse, multifd, tlsInOptions);
            CompressionSettings settings = outgoing.Compression;
            TimeSpan io = TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(timeout), 1, 3600));
            var options = new RelayOptions
            {
                Parameters = outgoing,
                IoTimeout = io,
                SourceName = input.IsTcp ? $"the source (connection accepted on {input})" : $"the saved stream {input.Path}",
                DestinationName = $"the destination {output}",
            };
            bool useMultifd = multifd.IsRequested(parse, source: false);
            if (useMultifd && !input.IsTcp)
            {
                throw new EngineParameterException("multifd", "multifd needs --listen tcp:HOST:PORT (a saved stream is one stream)");
            }

            // Credentials are read and checked now, before anything is listened on or connected to.
            TlsOptions? tlsIn = tlsInOptions.BuildServer(parse, accepting, io);
            TlsOptions? tlsOut = null;
            try
            {
                if (tlsIn is not null && !input.IsTcp)
                {
                    throw new EngineParameterException("listen-tls-creds", "--listen-tls-creds needs --listen tcp:HOST:PORT (a file has no peer)");
                }

                tlsOut = tlsOutOptions.BuildClient(parse, outgoing, io);
                if (toMultifdRequested && parse.GetResult(parameters.Method) is { Implicit: false } && settings.Method != CompressMethod.None)
                {
                    throw new EngineParameterException("compress-method", "--compress-method compresses a single-stream destination's pages; with --to-multifd-channels the channels compress: give --to-multifd-compression instead");
                }

                TlsOptions? channelTls = tlsOut;
                options = options with
                {
                    MachineType = parse.GetValue(machineType),
                    OutputMultifd = toMultifdRequested,
                    OutputUuid = multifd.ParseUuid(parse),
                    ConnectOutputChannel = !toMultifdRequested ? null
                        : (_, token) => ToolTransport.Connect(output.Host, output.Port, channelTls, TimeSpan.FromSeconds(Math.Min(10, io.TotalSeconds)), io, token),
                };
                Engine.Migration.MultifdDestination? channels = useMultifd
                    ? new Engine.Migration.MultifdDestination(new DestinationOptions { Parameters = accepting, Uuid = multifd.ParseUuid(parse), ReadTimeout = io }) { Tls = tlsIn }
                    : null;
                string? toMultifdName = !toMultifdRequested ? null
                    : outgoing.MultifdCompression == CompressMethod.None ? $"none x{outgoing.MultifdChannels}"
                    : $"{CompressionSettings.NameOf(outgoing.MultifdCompression)}-{(outgoing.MultifdCompression == CompressMethod.Zlib ? outgoing.MultifdZlibLevel : outgoing.MultifdZstdLevel)} x{outgoing.MultifdChannels}";
                return Execute(new MigrationRelay(options), input, output, io, parse.GetValue(json), settings, tlsIn, tlsOut, cancellationToken, channels, toMultifdName);
            }
            finally
            {
                tlsIn?.Credentials.Dispose();
                tlsOut?.Credentials.Dispose();
            }
        }), CancellationToken.None));
        return command;
    }

    private static int Execute(MigrationRelay relay, MigrationEndpoint input, MigrationEndpoint output, TimeSpan io, bool json, CompressionSettings settings, TlsOptions? tlsIn, TlsOptions? tlsOut, CancellationToken cancellationToken, Engine.Migration.MultifdDestination? multifd, string? toMultifd)
    {
        RelayResult result;
        if (input.IsTcp)
        {
            using TcpListener listener = ToolTransport.Listen(input.Host, input.Port, backlog: multifd is null ? 1 : 256);
            TlsCliOptions.Announce("relay", listener.LocalEndpoint, input.Host, tlsIn, "--listen-tls-creds");

            // The first connection is the main channel (with multifd, as QEMU 7.2: the channels are accepted after it, each
            // with TLS when the main one has it: MultifdDestination.AcceptChannel).
            using Stream source = TlsCliOptions.AcceptReportingRefusals("relay", () => ToolTransport.Accept(listener, tlsIn, io, cancellationToken));
            result = Relay(output, io, tlsOut, cancellationToken, destination => multifd is null
                ? relay.Run(source, destination, cancellationToken)
                : relay.Run(source, listener, multifd, destination, cancellationToken));
            TlsTransport.Close(source); // over TLS: close_notify
        }
        else
        {
            using FileStream source = new(input.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20);
            result = Relay(output, io, tlsOut, cancellationToken, destination => relay.Run(source, destination, cancellationToken));
        }

        if (json)
        {
            Console.WriteLine(ResultJson.Relay(result, settings).ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            Console.WriteLine(FormattableString.Invariant(
                $"relayed {result.BytesIn} bytes in -> {result.BytesOut} bytes out ({(toMultifd is null ? settings.ToString() : $"multifd {toMultifd}")}) in {result.Elapsed.TotalMilliseconds:0} ms; pages: {result.CompressedPages} compressed, {result.RawPages} raw, {result.ZeroPages} zero, {result.XbzrlePages} xbzrle; {result.BytesAfterRam} bytes after RAM passed verbatim"));
        }

        return 0;
    }

    /// <summary>Connects to the destination (with TLS when <paramref name="tls"/> is given) and carries the stream there with <paramref name="carry"/>.</summary>
    private static RelayResult Relay(MigrationEndpoint output, TimeSpan io, TlsOptions? tls, CancellationToken cancellationToken, Func<Stream, RelayResult> carry)
    {
        Stream destination;
        try
        {
            destination = ToolTransport.Connect(output.Host, output.Port, tls, TimeSpan.FromSeconds(Math.Min(10, io.TotalSeconds)), io, cancellationToken);
        }
        catch (IOException e)
        {
            throw new EngineException(EngineErrorKind.Migration, $"relay: the destination {output} cannot be reached: {e.Message}", innerException: e);
        }

        using (destination)
        {
            RelayResult result = carry(destination);
            TlsTransport.Close(destination); // over TLS: close_notify, so the destination sees a clean end
            return result;
        }
    }
}
