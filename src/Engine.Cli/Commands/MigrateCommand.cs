using System.CommandLine;
using System.Net.Sockets;
using System.Text.Json;
using Engine.Migration;
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
        var progress = ProgressOption.Create();
        var parameters = new MigrationOptions();
        var command = new Command("migrate", "Live-migrate a guest's RAM to an engine incoming over TCP, or save it to a file, through the multi-thread compressor.")
        {
            to, guest, image, dirtyRate, timeout, json, progress,
        };
        parameters.AddTo(command, source: true);
        // The work runs on a pool thread, so the action returns a running task at once and System.CommandLine installs its
        // Ctrl-C handler, which cancels the token (a synchronous body would be killed by SIGINT with no clean-up).
        command.SetAction((parse, cancellationToken) => Task.Run(() => CliErrors.Run(() =>
        {
            MigrationParameters p = parameters.Build(parse);
            MigrationEndpoint endpoint = MigrationEndpoint.Parse(parse.GetValue(to)!, "to");
            var writers = new GuestWriterOptions { PagesPerSecond = parse.GetValue(dirtyRate) };
            writers.Validate();
            FileInfo? imageFile = parse.GetValue(image);
            RamBlockInfo[] blocks = [];
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
            return Execute(p, endpoint, imageFile, blocks, writers, io, parse.GetValue(json), ProgressOption.IsJson(parse, progress), cancellationToken);
        }), CancellationToken.None));
        return command;
    }

    private static int Execute(MigrationParameters parameters, MigrationEndpoint endpoint, FileInfo? image, RamBlockInfo[] blocks, GuestWriterOptions writers, TimeSpan io, bool json, bool jsonProgress, CancellationToken cancellationToken)
    {
        using MigrationGuest guest = image is null ? MigrationGuest.CreateSynthetic(blocks, writers) : SyntheticGuest.FromImage(image.FullName, writers);
        guest.StartWriters();
        var source = new SourceMigration(guest, parameters, new SourceMigrationOptions { ReplyTimeout = io });
        using JsonProgress? lines = JsonProgress.StartIf(jsonProgress, () => source.Statistics.Snapshot(source.NowMs).ToJsonObject());
        MigrationResult result;
        if (endpoint.IsTcp)
        {
            using NetworkStream stream = TcpTransport.Connect(endpoint.Host, endpoint.Port, TimeSpan.FromSeconds(10), io, cancellationToken);
            result = source.Run(stream, cancellationToken);
        }
        else
        {
            // Unbuffered: the stream writer already hands over 256 KiB at a time; a second buffer would only copy them again.
            using (FileStream file = new(endpoint.Path, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
                result = source.Run(file, cancellationToken);
            }

            // The file has no return path: its checksums go beside it, for `engine incoming --from file:` to verify.
            File.WriteAllText(ChecksumFile(endpoint.Path), JsonSerializer.Serialize(result.SourceChecksums.Select(c => new { name = c.Name, xxh128 = c.Checksum })));
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
                null => $"checksums: written to {ChecksumFile(endpoint.Path)}; verified when the file is restored",
            });
        }

        return result.ChecksumsMatch == false ? CliErrors.Failure : 0;
    }

    /// <summary>The sidecar file holding a saved stream's source checksums.</summary>
    internal static string ChecksumFile(string streamPath) => streamPath + ".checksums.json";
}
