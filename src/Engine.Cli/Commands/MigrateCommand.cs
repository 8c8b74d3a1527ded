using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Migration;
using Engine.Tools;
using Engine.Transport;
using Engine.Wire;
using Spectre.Console;

namespace Engine.Cli.Commands;

/// <summary><c>engine migrate</c>: the source. Migrates a guest to <c>tcp:HOST:PORT</c> (an <c>engine incoming</c>) or into <c>file:PATH</c>.</summary>
internal static class MigrateCommand
{
    public static Command Create()
    {
        var to = new Option<string>("--to") { Description = "Where to: tcp:HOST:PORT (an engine incoming) or file:PATH (save the memory as a migration stream).", Required = true };
        var guest = new Option<string>("--guest")
        {
            Description = "A synthetic guest: synthetic:SIZE (one block, pc.ram), or several RAM blocks: synthetic:256M,vga.vram:16M (NAME:SIZE after the first).",
            DefaultValueFactory = _ => "synthetic:256M",
        };
        var image = new Option<FileInfo?>("--image") { Description = "Migrate a raw memory image file instead of a synthetic guest." };
        var dirtyRate = new Option<double>("--dirty-rate") { Description = "Pages the guest's writers dirty per second (0 = a still guest).", DefaultValueFactory = _ => 0 };
        var timeout = new Option<int>("--timeout") { Description = "Seconds a silent peer is waited for before the migration fails.", DefaultValueFactory = _ => 30 };
        var json = new Option<bool>("--json") { Description = "Print the result as query-migrate JSON." };
        var machineType = new Option<string>("--machine-type") { Description = "The machine type the stream's configuration section names (a QEMU destination checks it).", DefaultValueFactory = _ => "pc-q35-7.2" };
        var multifd = new MultifdOptions();
        var progress = ProgressOption.Create();
        var parameters = new MigrationOptions();
        var tlsOptions = new TlsCliOptions();
        var command = new Command("migrate", "Live-migrate a guest's RAM to an engine incoming over TCP, or save it to a file, through the multi-thread compressor.")
        {
            to, guest, image, dirtyRate, timeout, json, progress,
        };
        parameters.AddTo(command, source: true);
        command.Options.Add(machineType);
        multifd.AddTo(command, source: true);
        tlsOptions.AddTo(command, client: true, server: false);
        // The work runs on a pool thread, so the action returns a running task at once and System.CommandLine installs its
        // Ctrl-C handler, which cancels the token (a synchronous body would be killed by SIGINT with no clean-up).
        command.SetAction((parse, cancellationToken) => Task.Run(() => CliErrors.Run(() =>
        {
            MigrationParameters p = parameters.Build(parse, multifd, tlsOptions);
            MigrationEndpoint endpoint = MigrationEndpoint.Parse(parse.GetValue(to)!, "to");
            var writers = new GuestWriterOptions { PagesPerSecond = parse.GetValue(dirtyRate) };
            writers.Validate();
            FileInfo? imageFile = parse.GetValue(image);
            (string Name, long Size)[] blocks = [];
            if (imageFile is null)
            {
                string spec = parse.GetValue(guest)!;
                if (!spec.StartsWith("synthetic:", StringComparison.Ordinal))
                {
                    throw new EngineParameterException("guest", $"guest '{spec}' is not accepted: use synthetic:SIZE (e.g. synthetic:256M, or synthetic:256M,vga.vram:16M) or --image FILE");
                }

                blocks = MigrationOptions.ParseBlocks(spec["synthetic:".Length..], "guest");
            }

            TimeSpan io = TimeSpan.FromSeconds(Math.Clamp(parse.GetValue(timeout), 1, 3600));

            // Credentials are read and checked now: a bad directory fails before the guest is built or anything is sent.
            TlsOptions? tls = tlsOptions.BuildClient(parse, p, io);
            if (tls is not null && !endpoint.IsTcp)
            {
                throw new EngineParameterException("tls-creds", "--tls-creds needs --to tcp:HOST:PORT (a file has no peer)");
            }

            bool useMultifd = multifd.IsRequested(parse, source: true);
            Guid uuid = multifd.ParseUuid(parse);
            if (useMultifd && !endpoint.IsTcp)
            {
                tls?.Credentials.Dispose();
                throw new EngineParameterException("multifd", "multifd needs --to tcp:HOST:PORT (as QEMU, socket URIs only)");
            }

            try
            {
                return Execute(p, endpoint, imageFile, blocks, writers, io, parse.GetValue(json), ProgressOption.IsJson(parse, progress), cancellationToken, tls, useMultifd, new SourceMigrationOptions { ReplyTimeout = io, MachineType = parse.GetValue(machineType)!, Uuid = uuid }, !parse.GetValue(multifd.NoReply));
            }
            finally
            {
                tls?.Credentials.Dispose();
            }
        }), CancellationToken.None));
        return command;
    }

    private static int Execute(MigrationParameters parameters, MigrationEndpoint endpoint, FileInfo? image, (string Name, long Size)[] blocks, GuestWriterOptions writers, TimeSpan io, bool json, bool jsonProgress, CancellationToken cancellationToken, TlsOptions? tls, bool multifd, SourceMigrationOptions options, bool expectReply)
    {
        using MigrationGuest guest = image is null ? MigrationGuest.CreateSynthetic(blocks, writers) : SyntheticGuest.FromImage(image.FullName, writers);
        guest.StartWriters();
        SourceMigration? source = multifd ? null : new SourceMigration(guest, parameters, options) { ExpectReply = expectReply };
        Engine.Migration.MultifdSource? multifdSource = multifd ? new Engine.Migration.MultifdSource(guest, parameters, options) { ExpectReply = expectReply } : null;

        // The progress lines follow the migration that runs, in either wire mode.
        using JsonProgress? lines = JsonProgress.StartIf(jsonProgress, () => source is not null
            ? source.Query().ToJsonObject()
            : multifdSource!.Query().ToJsonObject());
        MigrationResult result;
        if (multifdSource is not null)
        {
            // The main connection first, then each channel's (QEMU 7.2's destination takes the first as the main channel);
            // with --tls-creds each one runs its TLS handshake right after its TCP connect, as QEMU's.
            using Stream main = ToolTransport.Connect(endpoint.Host, endpoint.Port, tls, TimeSpan.FromSeconds(10), io, cancellationToken);
            try
            {
                result = multifdSource.Run(main, (_, token) => ToolTransport.Connect(endpoint.Host, endpoint.Port, tls, TimeSpan.FromSeconds(10), io, token), cancellationToken);
            }
            finally
            {
                TlsTransport.Close(main);
            }
        }
        else if (endpoint.IsTcp)
        {
            using Stream stream = ToolTransport.Connect(endpoint.Host, endpoint.Port, tls, TimeSpan.FromSeconds(10), io, cancellationToken);
            try
            {
                result = source!.Run(stream, cancellationToken);
            }
            finally
            {
                TlsTransport.Close(stream); // over TLS: close_notify (sent already after a completed migration)
            }
        }
        else
        {
            // Unbuffered: the stream writer already hands over 256 KiB at a time; a second buffer would only copy them again.
            using (FileStream file = new(endpoint.Path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
                result = source!.Run(file, cancellationToken);
            }

            // The file has no return path: its checksums go beside it, for `engine incoming --from file:` to verify.
            File.WriteAllText(ChecksumFile(endpoint.Path), new JsonArray(result.SourceChecksums.Select(c => (JsonNode)new JsonObject { ["name"] = c.Name, [ResultJson.ChecksumName] = c.Checksum }).ToArray()).ToJsonString());
        }

        if (lines is not null)
        {
            var o = result.Info.ToJsonObject();
            o["checksums-equal"] = result.ChecksumsMatch;
            lines.Finish(o);
        }
        else if (json)
        {
            var o = result.Info.ToJsonObject();
            o["checksums-equal"] = result.ChecksumsMatch;
            Console.WriteLine(o.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            Console.Write(result.Info.ToText());
            foreach (BlockChecksum c in result.SourceChecksums)
            {
                Console.WriteLine($"block {c.Name}: xxh128 {c.Checksum}");
            }

            Console.WriteLine(result.ChecksumsMatch switch
            {
                true => "checksums: equal at source and destination",
                false => "checksums: DIFFER between source and destination",
                null when endpoint.IsTcp => "checksums: not compared (the destination sends no reply)",
                null => $"checksums: written to {ChecksumFile(endpoint.Path)}; verified when the file is restored",
            });
        }

        return result.ChecksumsMatch == false ? CliErrors.Failure : 0;
    }

    /// <summary>The sidecar file holding a saved stream's source checksums.</summary>
    internal static string ChecksumFile(string streamPath) => streamPath + ".checksums.json";
}
