using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Codecs;
using Engine.Migration;
using Engine.Wire;
using Spectre.Console;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine demo --benchmark</c>: the engine's end-to-end ceiling. Migrates one still guest (no writers) at unlimited
/// bandwidth over loopback TCP, in this process, once per method and compress-thread count, and reports MB/s of guest RAM.
/// </summary>
/// <remarks>
/// The figure is total RAM / total time, where total time runs from the start until the destination holds every page
/// (QEMU's <c>total time</c>; the checksums afterwards are not in it). Source and destination share the machine's cores,
/// so this is what one host can push through itself: compression, framing, the socket, parsing and decompression. Every
/// run must end with equal checksums, or the benchmark fails.
/// </remarks>
internal static class MigrationBenchmark
{
    public static int Run((string Name, long Size)[] blocks, FileInfo? image, IReadOnlyList<CompressionSettings> methods, IReadOnlyList<int> threadCounts, int decompressThreads, bool json, CancellationToken cancellationToken)
    {
        using MigrationGuest guest = image is null ? MigrationGuest.CreateSynthetic(blocks) : MigrationGuest.FromImage(image.FullName);
        if (!json)
        {
            Console.WriteLine($"engine demo --benchmark: still guest of {guest.Memory.TotalSize >> 20} MiB ({(image is null ? "calibrated synthetic content" : image.Name)}), unlimited bandwidth, loopback TCP in one process, decompress-threads {decompressThreads}, {Environment.ProcessorCount} cores");
        }

        // Warm-up, not measured: JIT and tiering of the whole path and each codec, on a small guest.
        using (MigrationGuest warm = MigrationGuest.CreateSynthetic(16L << 20))
        {
            foreach (CompressionSettings method in methods)
            {
                DemoCommand.RunOnce(warm, new MigrationParameters { Compression = method, CompressThreads = 2, DecompressThreads = decompressThreads, MaxBandwidth = 0 }, null, cancellationToken);
            }
        }

        var rows = new List<(CompressionSettings Method, int Threads, MigrationResult Result, double MBps)>();
        foreach (CompressionSettings method in methods)
        {
            foreach (int threads in threadCounts)
            {
                var parameters = new MigrationParameters
                {
                    Compression = method,
                    CompressThreads = threads,
                    DecompressThreads = decompressThreads,
                    MaxBandwidth = 0,
                };
                MigrationResult result = DemoCommand.RunOnce(guest, parameters, null, cancellationToken);
                if (result.ChecksumsMatch != true)
                {
                    throw new EngineException(EngineErrorKind.Migration, $"benchmark run {method} x{threads}: the checksums differ");
                }

                double mbps = result.Info.TotalBytes / 1e6 / Math.Max(0.001, result.Info.TotalTimeMs / 1000.0);
                rows.Add((method, threads, result, mbps));
                if (!json)
                {
                    Console.WriteLine($"{method} x{threads}: {mbps:F0} MB/s of guest RAM ({result.Info.TotalTimeMs} ms)");
                }
            }
        }

        if (json)
        {
            var array = new JsonArray();
            foreach ((CompressionSettings method, int threads, MigrationResult result, double mbps) in rows)
            {
                array.Add((JsonNode)new JsonObject
                {
                    ["compress-method"] = CompressionSettings.NameOf(method.Method),
                    ["compress-level"] = method.Level,
                    ["compress-threads"] = threads,
                    ["decompress-threads"] = decompressThreads,
                    ["guest-bytes"] = result.Info.TotalBytes,
                    ["total-time-ms"] = result.Info.TotalTimeMs,
                    ["guest-mb-per-s"] = Math.Round(mbps, 1),
                    ["transferred-bytes"] = result.Info.TransferredBytes,
                    ["checksums-equal"] = result.ChecksumsMatch,
                });
            }

            Console.WriteLine(array.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return 0;
        }

        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("method");
        foreach (int threads in threadCounts)
        {
            table.AddColumn(new TableColumn($"compress-threads {threads}").RightAligned());
        }

        CultureInfo c = CultureInfo.InvariantCulture;
        foreach (CompressionSettings method in methods)
        {
            var cells = new List<string> { Markup.Escape(method.ToString()) };
            foreach (int threads in threadCounts)
            {
                var row = rows.First(r => r.Method == method && r.Threads == threads);
                cells.Add($"{row.MBps.ToString("F0", c)} MB/s");
            }

            table.AddRow(cells.ToArray());
        }

        AnsiConsole.Write(table);
        Console.WriteLine("MB/s of guest RAM = total ram / total time (until the destination holds every page); 1 MB = 10^6 bytes.");
        return 0;
    }
}
