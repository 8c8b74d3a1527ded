using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Codecs;
using Engine.Migration;
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
        var parameters = new MigrationOptions();
        var multifd = new MultifdOptions();
        var command = new Command("incoming", "Receive a live migration over TCP (engine migrate --to tcp:...) or restore a saved stream, and verify its checksums.")
        {
            listen, from, strict, timeout, saveImage, json,
        };
        parameters.AddTo(command, source: false);
        multifd.AddTo(command, source: false);
        // On a pool thread so that Ctrl-C cancels the token instead of killing the process (see MigrateCommand).
        command.SetAction((parse, cancellationToken) => Task.Run(() => CliErrors.Run(() =>
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

            var options = new DestinationOptions
            {
                DecompressThreads = parse.GetValue(parameters.DecompressThreads),
                Method = CompressionSettings.Parse(parse.GetValue(parameters.Method)!, parse.GetValue(parameters.Level)).Method,
                Strict = parse.GetValue(strict),
                ReadTimeout = TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(timeout), 1, 3600)),
            };
            Engine.Multifd.MultifdParameters? multifdParameters = multifd.Build(parse, source: false);
            if (multifdParameters is not null && !endpoint.IsTcp)
            {
                throw new EngineParameterException("multifd", "multifd needs --listen tcp:HOST:PORT (as QEMU, socket URIs only)");
            }

            return Execute(new DestinationMigration(options), endpoint, options.ReadTimeout, parse.GetValue(saveImage), parse.GetValue(json), cancellationToken, multifdParameters is null ? null : new Engine.Multifd.MultifdDestination(multifdParameters, options));
        }), CancellationToken.None));
        return command;
    }

    private static int Execute(DestinationMigration destination, MigrationEndpoint endpoint, TimeSpan io, DirectoryInfo? saveImage, bool json, CancellationToken cancellationToken, Engine.Multifd.MultifdDestination? multifd = null)
    {
        DestinationResult result;
        IReadOnlyList<BlockChecksum>? expected = null;
        if (endpoint.IsTcp)
        {
            using TcpListener listener = multifd is null ? TcpTransport.Listen(endpoint.Host, endpoint.Port) : TcpTransport.Listen(endpoint.Host, endpoint.Port, backlog: 256);

            // On stderr also with --json (stdout stays one JSON document): with port 0 this is how a caller learns the port.
            Console.Error.WriteLine($"engine incoming: listening on {listener.LocalEndpoint}");

            using NetworkStream stream = TcpTransport.Accept(listener, io, cancellationToken);
            // multifd: the first connection is the main channel (as QEMU 7.2), the channels are accepted after it.
            result = multifd is null ? destination.Run(stream, cancellationToken) : multifd.Run(stream, listener, cancellationToken);
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
                    .Select(e => new BlockChecksum(e.GetProperty("name").GetString() ?? "", e.GetProperty(MemoryChecksum.Algorithm).GetString() ?? ""))
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
                    string name = Engine.Wire.RamImageSink.FileNameFor(block.Name);
                    for (int i = 1; !taken.Add(name); i++)
                    {
                        name = $"{Path.GetFileNameWithoutExtension(Engine.Wire.RamImageSink.FileNameFor(block.Name))}-{i}.raw";
                    }

                    using FileStream image = File.Create(Path.Combine(saveImage.FullName, name));
                    for (long offset = 0; offset < block.Size; offset += 1 << 24)
                    {
                        image.Write(block.GetSpan(offset, (int)Math.Min(1 << 24, block.Size - offset)));
                    }
                }
            }

            bool? verified = endpoint.IsTcp ? null : expected is null ? null : expected.SequenceEqual(result.Checksums);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new
                {
                    status = "completed",
                    bytes = result.StreamBytes,
                    zeroPages = result.ZeroPages,
                    rawPages = result.RawPages,
                    compressedPages = result.CompressedPages,
                    elapsedMs = (long)result.Elapsed.TotalMilliseconds,
                    blocks = result.Checksums.Select(c => new { name = c.Name, xxh128 = c.Checksum }),
                    checksumsVerified = verified,
                }, new JsonSerializerOptions { WriteIndented = true }));
            }
            else
            {
                Console.WriteLine($"received {result.StreamBytes >> 10} kbytes in {result.Elapsed.TotalMilliseconds:0} ms: {result.ZeroPages} zero, {result.CompressedPages} compressed, {result.RawPages} raw page records");
                foreach (BlockChecksum c in result.Checksums)
                {
                    Console.WriteLine($"block {c.Name}: xxh128 {c.Checksum}");
                }

                Console.WriteLine(verified switch
                {
                    true => "checksums: equal to the source's at the pause",
                    false => "checksums: DIFFER from the source's",
                    null => endpoint.IsTcp ? "checksums: sent to the source, which compares them" : "checksums: no source checksums beside the file to compare with",
                });
            }

            return verified == false ? CliErrors.Failure : 0;
        }
    }
}
