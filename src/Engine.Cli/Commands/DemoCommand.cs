using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Text.Json.Nodes;
using Engine.Codecs;
using Engine.Migration;
using Engine.Tools;
using Engine.Transport;
using Engine.Wire;
using Spectre.Console;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine demo</c>: the main job in one command. Migrates a synthetic guest under writes over loopback TCP once per
/// method, in the series' configuration, and prints the series' table side by side.
/// </summary>
internal static class DemoCommand
{
    public static Command Create()
    {
        var size = new Option<string>("--size") { Description = "Guest RAM size (synthetic guest), e.g. 256M, 1G; several RAM blocks: 256M,vga.vram:16M.", DefaultValueFactory = _ => "512M" };
        var image = new Option<FileInfo?>("--image") { Description = "Migrate a raw memory image instead of a synthetic guest." };
        var dirtyRate = new Option<double>("--dirty-rate") { Description = "Pages the guest dirties per second (0 = a still guest).", DefaultValueFactory = _ => 4000 };
        var writerThreads = new Option<int>("--writer-threads") { Description = "Guest writer threads (busy vCPUs).", DefaultValueFactory = _ => 1 };
        var methods = new Option<string>("--methods") { Description = "Comma-separated compress-methods to run, in order: none, zlib, zstd.", DefaultValueFactory = _ => "zlib,zstd" };
        var levels = new Option<string>("--levels") { Description = "compress-level per method (one value for all, or one per method).", DefaultValueFactory = _ => "1" };
        var parameters = new MigrationOptions();
        parameters.Bandwidth.Description = "max-bandwidth (bytes/s, 100M, 1G, 100Mbit; 0 = unlimited). The default, QEMU's 128M, leaves compression CPU as the constraint (the series' regime); 4M shows a link-bound migration.";
        var noAutoConverge = new Option<bool>("--no-auto-converge") { Description = "Turn auto-converge off (on by default in the demo)." };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON (query-migrate per method)." };
        var benchmark = new Option<bool>("--benchmark")
        {
            Description = "Instead of the demo: the end-to-end ceiling. A still guest at unlimited bandwidth over loopback, per method (default none,zlib,zstd) and compress-threads (--benchmark-threads), in MB/s of guest RAM.",
        };
        var benchmarkThreads = new Option<string>("--benchmark-threads") { Description = "compress-threads values for --benchmark, comma-separated.", DefaultValueFactory = _ => "1,2,8" };
        var command = new Command("demo", "Migrate a synthetic guest under writes over loopback TCP with zlib, then zstd, and print the series' table side by side.")
        {
            size, image, dirtyRate, writerThreads, methods, levels, parameters.CompressThreads, parameters.DecompressThreads, parameters.Bandwidth, parameters.DowntimeLimit, noAutoConverge, json, benchmark, benchmarkThreads,
        };
        // On a pool thread so that Ctrl-C cancels the token instead of killing the process (see MigrateCommand).
        command.SetAction((parse, cancellationToken) => Task.Run(() => CliErrors.Run(() =>
        {
            // Everything is parsed and validated before the first guest is built.
            bool bench = parse.GetValue(benchmark);
            string methodList = bench && (parse.GetResult(methods)?.Implicit ?? true) ? "none,zlib,zstd" : parse.GetValue(methods)!;
            string[] methodNames = methodList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            string[] levelTexts = parse.GetValue(levels)!.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (methodNames.Length == 0 || levelTexts.Length == 0 || (levelTexts.Length != 1 && levelTexts.Length != methodNames.Length))
            {
                throw new EngineParameterException("compress-level", "--methods must name at least one method and --levels give one level, or one per method");
            }

            MigrationParameters common = parameters.Build(parse);
            common.AutoConverge = !parse.GetValue(noAutoConverge);
            var runs = new List<MigrationParameters>();
            for (int i = 0; i < methodNames.Length; i++)
            {
                string levelText = levelTexts.Length == 1 ? levelTexts[0] : levelTexts[i];
                if (!int.TryParse(levelText, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int level))
                {
                    throw new EngineParameterException("compress-level", $"compress-level '{levelText}' is not an integer");
                }

                CompressMethod method = CompressionSettings.ParseMethod(methodNames[i]);
                MigrationParameters run = common.Clone();
                run.Compression = CompressionSettings.Create(method, method == CompressMethod.None ? 0 : level);
                runs.Add(run);
            }

            (string Name, long Size)[] guestBlocks = MigrationOptions.ParseBlocks(parse.GetValue(size)!, "size");
            if (bench)
            {
                int[] threadCounts = ParseThreadCounts(parse.GetValue(benchmarkThreads)!);
                return MigrationBenchmark.Run(guestBlocks, parse.GetValue(image), runs.Select(r => r.Compression).ToArray(), threadCounts, common.DecompressThreads, parse.GetValue(json), cancellationToken);
            }

            var writers = new GuestWriterOptions { PagesPerSecond = parse.GetValue(dirtyRate), Threads = parse.GetValue(writerThreads) };
            writers.Validate();
            return Execute(runs, guestBlocks, parse.GetValue(image), writers, parse.GetValue(json), cancellationToken);
        }), CancellationToken.None));
        return command;
    }

    private static int[] ParseThreadCounts(string text)
    {
        var counts = new List<int>();
        foreach (string item in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(item, NumberStyles.None, CultureInfo.InvariantCulture, out int n) || n is < 1 or > MigrationParameters.MaxThreads)
            {
                throw new EngineParameterException("benchmark-threads", $"benchmark-threads '{item}' is not accepted: compress-threads 1 to 255, comma-separated");
            }

            counts.Add(n);
        }

        return counts.Count > 0 ? counts.ToArray() : throw new EngineParameterException("benchmark-threads", "benchmark-threads needs at least one thread count");
    }

    private static int Execute(List<MigrationParameters> runs, (string Name, long Size)[] guestBlocks, FileInfo? image, GuestWriterOptions writers, bool json, CancellationToken cancellationToken)
    {
        bool interactive = !json && !Console.IsOutputRedirected;
        string guestText = image is null
            ? $"synthetic guest {string.Join(" + ", guestBlocks.Select(b => $"{b.Name} {b.Size >> 20} MiB"))} (calibrated Debian RAM model), dirtying {writers.PagesPerSecond:0} pages/s"
            : $"image {image.Name}, dirtying {writers.PagesPerSecond:0} pages/s";
        if (!json)
        {
            MigrationParameters first = runs[0];
            Console.WriteLine($"engine demo: {guestText}");
            Console.WriteLine($"loopback TCP, compress-threads {first.CompressThreads}, decompress-threads {first.DecompressThreads}, max-bandwidth {Bandwidth(first.MaxBandwidth)}, downtime-limit {first.DowntimeLimit} ms, auto-converge {(first.AutoConverge ? "on" : "off")}");
        }

        var results = new List<(MigrationParameters Parameters, MigrationResult Result)>();
        foreach (MigrationParameters parameters in runs)
        {
            using MigrationGuest guest = image is null
                ? MigrationGuest.CreateSynthetic(guestBlocks, writers)
                : SyntheticGuest.FromImage(image.FullName, writers);
            string name = parameters.Compression.ToString();
            MigrationResult result = interactive
                ? RunWithProgress(guest, parameters, name, cancellationToken)
                : RunOnce(guest, parameters, null, cancellationToken);
            results.Add((parameters, result));
            if (!json)
            {
                Console.WriteLine($"{name}: {MigrationInfo.StatusName(result.Info.Status)} in {result.Info.TotalTimeMs} ms, checksums {(result.ChecksumsMatch == true ? "equal" : "DIFFER")}");
            }
        }

        if (json)
        {
            var array = new JsonArray();
            foreach ((MigrationParameters p, MigrationResult r) in results)
            {
                JsonObject o = r.Info.ToJsonObject();
                o["compress-method"] = CompressionSettings.NameOf(p.Compression.Method);
                o["compress-level"] = p.Compression.Level;
                o["checksums-equal"] = r.ChecksumsMatch;
                array.Add((JsonNode)o);
            }

            Console.WriteLine(array.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            Render(results);
        }

        return results.All(r => r.Result.ChecksumsMatch == true) ? 0 : CliErrors.Failure;
    }

    private static MigrationResult RunWithProgress(MigrationGuest guest, MigrationParameters parameters, string name, CancellationToken cancellationToken)
    {
        MigrationResult? result = null;
        AnsiConsole.Status().Start($"migrating with {name}…", ctx =>
        {
            result = RunOnce(guest, parameters, cancellationToken: cancellationToken, progress: info => ctx.Status(
                $"migrating with {Markup.Escape(name)}: round {info.DirtySyncCount}, remaining {info.RemainingBytes >> 10} kB, {info.Mbps:F0} mbps, dirty rate {info.DirtyPagesRate} pages/s, throttle {info.CpuThrottlePercentage}%"));
        });
        return result!;
    }

    internal static MigrationResult RunOnce(MigrationGuest guest, MigrationParameters parameters, Action<MigrationInfo>? progress, CancellationToken cancellationToken = default)
    {
        TimeSpan io = ToolTransport.DefaultIoTimeout;
        (NetworkStream sourceEnd, NetworkStream destinationEnd) = ToolTransport.CreateLoopbackPair(io);
        using (sourceEnd)
        using (destinationEnd)
        {
            var destination = new DestinationMigration(new DestinationOptions { Parameters = parameters, ReadTimeout = io });
            Task<DestinationResult> incoming = Task.Factory.StartNew(() => destination.Run(destinationEnd, cancellationToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            guest.StartWriters();
            long lastProgress = 0;
            var source = new SourceMigration(guest, parameters, new SourceMigrationOptions
            {
                Progress = progress is null ? null : info =>
                {
                    // A few updates per second are plenty.
                    if (Environment.TickCount64 - lastProgress >= 200)
                    {
                        lastProgress = Environment.TickCount64;
                        progress(info);
                    }
                },
            });
            try
            {
                MigrationResult result = source.Run(sourceEnd, cancellationToken);
                incoming.GetAwaiter().GetResult().Memory.Dispose();
                return result;
            }
            catch
            {
                // The destination sees the broken connection and gives up; wait so no thread outlives the run.
                sourceEnd.Dispose();
                try
                {
                    incoming.GetAwaiter().GetResult().Memory.Dispose();
                }
                catch (Exception e) when (e is EngineException { Kind: EngineErrorKind.Migration } or OperationCanceledException)
                {
                    // The source's error is the one to report.
                }

                throw;
            }
        }
    }

    private static void Render(List<(MigrationParameters Parameters, MigrationResult Result)> results)
    {
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("");
        foreach ((MigrationParameters p, _) in results)
        {
            table.AddColumn(new TableColumn(Markup.Escape(p.Compression.ToString())).RightAligned());
        }

        CultureInfo c = CultureInfo.InvariantCulture;
        AddRow(table, results, "total time (ms)", r => r.Info.TotalTimeMs.ToString(c));
        AddRow(table, results, "downtime (ms)", r => (r.Info.DowntimeMs ?? 0).ToString(c));
        AddRow(table, results, "transferred ram (kB)", r => MigrationOptions.Kb(r.Info.TransferredBytes));
        AddRow(table, results, "throughput (mbps)", r => r.Info.Mbps.ToString("F2", c));
        AddRow(table, results, "total ram (kB)", r => MigrationOptions.Kb(r.Info.TotalBytes));
        AddRow(table, results, "compression rate (whole run)", r => r.Info.CompressedSizeBytes == 0 ? "-" : (r.Info.CompressedPages * 4096.0 / r.Info.CompressedSizeBytes).ToString("F2", c));
        AddRow(table, results, "zero / compressed / raw pages", r => $"{r.Info.DuplicatePages} / {r.Info.CompressedPages} / {r.Info.NormalPages}");
        AddRow(table, results, "iterations (dirty syncs)", r => r.Info.DirtySyncCount.ToString(c));
        AddRow(table, results, "cpu throttle (%)", r => r.Info.CpuThrottlePercentage.ToString(c));
        AddRow(table, results, "checksums", r => r.ChecksumsMatch == true ? "[green]equal[/]" : "[red]DIFFER[/]", markup: true);
        AnsiConsole.Write(table);
    }

    private static void AddRow(Table table, List<(MigrationParameters Parameters, MigrationResult Result)> results, string label, Func<MigrationResult, string> cell, bool markup = false)
    {
        var cells = new List<string> { Markup.Escape(label) };
        cells.AddRange(results.Select(r => markup ? cell(r.Result) : Markup.Escape(cell(r.Result))));
        table.AddRow(cells.ToArray());
    }

    internal static string Bandwidth(long bytesPerSecond)
        => bytesPerSecond == 0 ? "unlimited" : $"{bytesPerSecond / (double)(1 << 20):0.##} MiB/s";
}
