using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Tools;
using Engine.Transport;

namespace Engine.Cli.Commands;

/// <summary><c>engine incoming</c>: the destination. Receives a migration on <c>tcp:HOST:PORT</c>, or restores <c>file:PATH</c>.</summary>
internal static class IncomingCommand
{
    public static Command Create()
    {
        var listen = new Option<string?>("--listen") { Description = "Listen for one migration: tcp:HOST:PORT." };
        var from = new Option<string?>("--from") { Description = "Restore a saved stream: file:PATH." };
        var strict = new Option<bool>("--strict") { Description = "Reject compressed pages of another method than --compress-method." };
        var timeout = new Option<int>("--timeout") { Description = "Seconds a silent source is waited for (after it connected) before the stream is discarded.", DefaultValueFactory = _ => 30 };
        var saveImage = new Option<DirectoryInfo?>("--save-images") { Description = "Write the received RAM to this directory, one raw image per RAM block (as engine extract names them)." };
        var json = new Option<bool>("--json") { Description = "Print the result as JSON." };
        var progress = ProgressOption.Create();
        var maxRam = new Option<string?>("--max-ram")
        {
            Description = "The most guest RAM a source may announce (e.g. 16G); a stream announcing more is refused before anything is allocated. Default: this host's memory.",
        };
        var saveStream = new Option<FileInfo?>("--save-stream")
        {
            Description = "Write what was received as a QEMU migration file (RAM re-encoded with --compress-method/--compress-level on "
                + "--compress-threads; device state verbatim) that QEMU loads with -incoming \"exec:cat FILE\" (compress on for zlib).",
        };
        Option<string> format = StreamCommands.FormatOption("--save-stream");
        var parameters = new MigrationOptions();
        var multifd = new MultifdOptions();
        var tlsOptions = new TlsCliOptions();
        var command = new Command("incoming", "Receive a live migration over TCP (engine migrate --to tcp:...) or restore a saved stream, and verify its checksums.")
        {
            listen, from, strict, timeout, saveImage, json, progress, maxRam, saveStream, format,
        };
        parameters.AddTo(command, source: false);
        command.Options.Add(parameters.CompressThreads);
        multifd.AddTo(command, source: false);
        tlsOptions.AddTo(command, client: false, server: true);
        // On a pool thread so that Ctrl-C cancels the token instead of killing the process (see MigrateCommand).
        command.SetAction((parse, cancellationToken) => Task.Run(() => CliErrors.Run(() =>
        {
            MigrationEndpoint endpoint = EndpointOptions.ListenOrFrom(parse, listen, from);

            MigrationParameters p = parameters.Build(parse, multifd, tlsOptions);
            var options = new DestinationOptions
            {
                Parameters = p,
                Uuid = multifd.ParseUuid(parse),
                Strict = parse.GetValue(strict),
                ReadTimeout = TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(timeout), 1, 3600)),
                MaxRamBytes = ParseMaxRam(parse.GetValue(maxRam)),
            };

            bool mappedRam = StreamCommands.IsMappedRamFormat(parse.GetValue(format)!);
            if (mappedRam && parse.GetValue(saveStream) is null)
            {
                throw new EngineParameterException("format", "--format mapped-ram is the format of --save-stream FILE: give --save-stream too");
            }

            var save = parse.GetValue(saveStream) is { } file
                ? new SaveStream(
                    file.FullName,
                    StreamCommands.MappedRamSettings(mappedRam, parse.GetResult(parameters.Method) is { Implicit: false }, parse.GetValue(parameters.Method)!, parse.GetValue(parameters.Level)),
                    p.CompressThreads,
                    mappedRam)
                : null;

            // Credentials are read and checked now: a bad directory fails before the listener opens.
            TlsOptions? tls = tlsOptions.BuildServer(parse, p, options.ReadTimeout);
            if (tls is not null && !endpoint.IsTcp)
            {
                throw new EngineParameterException("tls-creds", "--tls-creds needs --listen tcp:HOST:PORT (a file has no peer)");
            }

            bool useMultifd = multifd.IsRequested(parse, source: false);
            if (useMultifd && !endpoint.IsTcp)
            {
                tls?.Credentials.Dispose();
                throw new EngineParameterException("multifd", "multifd needs --listen tcp:HOST:PORT (as QEMU, socket URIs only)");
            }

            try
            {
                return Execute(new DestinationMigration(options), endpoint, options.ReadTimeout, parse.GetValue(saveImage), parse.GetValue(json), ProgressOption.IsJson(parse, progress), cancellationToken, save, tls, useMultifd ? new Engine.Migration.MultifdDestination(options) { Tls = tls } : null);
            }
            finally
            {
                tls?.Credentials.Dispose();
            }
        }), CancellationToken.None));
        return command;
    }

    /// <summary>The default of <c>--max-ram</c>: the memory this host (or its container) can hold.</summary>
    internal static long HostMemoryBytes => Math.Max(GC.GetGCMemoryInfo().TotalAvailableMemoryBytes, 1L << 30);

    private static long ParseMaxRam(string? text)
    {
        if (text is null)
        {
            return HostMemoryBytes;
        }

        long bytes;
        try
        {
            bytes = MigrationParameters.ParseBandwidth(text); // K, M, G, T: 1024-based bytes
        }
        catch (EngineParameterException)
        {
            bytes = 0;
        }

        if (bytes < PageCodecs.PageSize)
        {
            throw new EngineParameterException("max-ram", $"max-ram '{text}' is not accepted: a size of at least 4K, with K, M, G or T (1024-based), e.g. 16G");
        }

        return bytes;
    }

    private sealed record SaveStream(string Path, CompressionSettings Settings, int Threads, bool MappedRam);

    private static int Execute(DestinationMigration destination, MigrationEndpoint endpoint, TimeSpan io, DirectoryInfo? saveImage, bool json, bool jsonProgress, CancellationToken cancellationToken, SaveStream? save = null, TlsOptions? tls = null, Engine.Migration.MultifdDestination? multifd = null)
    {
        using ReceiveMeter? meter = jsonProgress ? new ReceiveMeter() : null;
        using JsonProgress? lines = JsonProgress.StartIf(jsonProgress, () => meter!.Snapshot());
        DestinationResult result;
        IReadOnlyList<BlockChecksum>? expected = null;
        if (multifd is not null)
        {
            // multifd: the first connection is the main channel (as QEMU 7.2), the N channels are accepted after it; with
            // --tls-creds each one runs its TLS handshake right after the accept (the channels' inside MultifdDestination).
            using TcpListener channels = ToolTransport.Listen(endpoint.Host, endpoint.Port, backlog: 256);
            TlsCliOptions.Announce("incoming", channels.LocalEndpoint, endpoint.Host, tls);
            Stream main = TlsCliOptions.AcceptReportingRefusals("incoming", () => ToolTransport.Accept(channels, tls, io, cancellationToken));
            using (main)
            {
                result = multifd.Run(main, channels, cancellationToken);
                TlsTransport.Close(main); // over TLS: close_notify after the reply
            }
        }
        else if (endpoint.IsTcp)
        {
            using var listener = new MigrationListener(endpoint.Host, endpoint.Port, tls, io, refusal => Console.Error.WriteLine($"engine incoming: {refusal}"));
            TlsCliOptions.Announce("incoming", listener.LocalEndpoint, endpoint.Host, tls);
            Stream stream = TlsCliOptions.AcceptReportingRefusals("incoming", () => listener.Accept(cancellationToken));
            listener.RefuseOthers("the destination is busy with another migration");
            using (stream)
            {
                result = destination.Run(stream, cancellationToken);
                TlsTransport.Close(stream); // over TLS: close_notify after the reply
            }
        }
        else
        {
            using (FileStream file = new(endpoint.Path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 20))
            {
                result = destination.Run(file, cancellationToken);
            }

            string sidecar = MigrateCommand.ChecksumFile(endpoint.Path);
            if (File.Exists(sidecar))
            {
                using JsonDocument doc = JsonDocument.Parse(File.ReadAllText(sidecar));
                expected = doc.RootElement.EnumerateArray()
                    .Select(e => new BlockChecksum(e.GetProperty("name").GetString() ?? "", e.GetProperty(ResultJson.ChecksumName).GetString() ?? ""))
                    .ToArray();
            }
        }

        using (result.Memory)
        {
            if (saveImage is not null)
            {
                saveImage.Create();
                var taken = new HashSet<string>(StringComparer.Ordinal);
                foreach (Engine.Memory.RamBlock block in result.Memory.Blocks)
                {
                    // Two block names can map to one file name; the later one gets a number, as extract does.
                    string name = Engine.Tools.RamExtractor.FileNameFor(block.Name);
                    for (int i = 1; !taken.Add(name); i++)
                    {
                        name = $"{Path.GetFileNameWithoutExtension(Engine.Tools.RamExtractor.FileNameFor(block.Name))}-{i}.raw";
                    }

                    using FileStream image = File.Create(Path.Combine(saveImage.FullName, name));
                    for (long offset = 0; offset < block.Size; offset += 1 << 24)
                    {
                        image.Write(block.GetSpan(offset, (int)Math.Min(1 << 24, block.Size - offset)));
                    }
                }
            }

            long savedBytes = 0;
            if (save is not null)
            {
                savedBytes = save.MappedRam
                    ? Checkpoint.SaveMappedRam(save.Path, result, save.Threads, cancellationToken)
                    : Checkpoint.Save(save.Path, result, save.Settings, save.Threads);
                Console.Error.WriteLine($"engine incoming: saved {savedBytes} bytes ({(save.MappedRam ? "mapped-ram" : save.Settings.ToString())}) to {save.Path}");
            }

            bool? verified = endpoint.IsTcp ? null : expected is null ? null : expected.SequenceEqual(result.Checksums);
            if (json || lines is not null)
            {
                System.Text.Json.Nodes.JsonObject final = ResultJson.Incoming(result, verified, save?.Path, save is null ? null : savedBytes);
                if (lines is not null)
                {
                    lines.Finish(final);
                }
                else
                {
                    Console.WriteLine(final.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
                }
            }
            else
            {
                Console.WriteLine($"received {result.StreamBytes >> 10} kbytes in {result.Elapsed.TotalMilliseconds:0} ms: {result.ZeroPages} zero, {result.CompressedPages} compressed, {result.RawPages} raw, {result.XbzrlePages} xbzrle page records");
                if (result.FromQemu)
                {
                    Console.WriteLine($"source: QEMU ({result.Tail.Length} bytes of device state after RAM kept verbatim; no reply sent)");
                }

                foreach (BlockChecksum c in result.Checksums)
                {
                    Console.WriteLine($"block {c.Name}: xxh128 {c.Checksum}");
                }

                Console.WriteLine(verified switch
                {
                    true => "checksums: equal to the source's at the pause",
                    false => "checksums: DIFFER from the source's",
                    null => endpoint.IsTcp && result.FromQemu ? "checksums: a QEMU source sends none to compare with"
                        : endpoint.IsTcp ? "checksums: sent to the source, which compares them" : "checksums: no source checksums beside the file to compare with",
                });
            }

            return verified == false ? CliErrors.Failure : 0;
        }
    }
}
