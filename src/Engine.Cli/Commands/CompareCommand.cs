using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Engine.Cli.Analysis;
using Engine.Codecs;
using Engine.Migration;
using Spectre.Console;

namespace Engine.Cli.Commands;

/// <summary><c>engine compare</c>: methods and levels side by side on built-in pages or a file of pages.</summary>
internal static class CompareCommand
{
    /// <summary>Default number of built-in pages: 32 MiB.</summary>
    public const int DefaultPages = 8192;

    public static Command Create()
    {
        var methods = new Option<string>("--methods", "-m")
        {
            Description = "Comma-separated compress-methods to compare: none, zlib, zstd.",
            DefaultValueFactory = _ => "zlib,zstd",
        };
        var levels = new Option<string>("--levels", "-l")
        {
            Description = "Comma-separated compress-levels, each checked against each method (zlib 0-9; zstd 1-22 and -1 to -100).",
            DefaultValueFactory = _ => "1,3,6,9",
        };
        var zlib = new Option<string>("--zlib")
        {
            Description = "zlib implementation(s): native (the system's libz.so.1), sharpziplib (managed), or both.",
            DefaultValueFactory = _ => "native",
        };
        zlib.AcceptOnlyFromAmong("native", "sharpziplib", "both");
        var file = new Option<FileInfo?>("--file", "-f")
        {
            Description = "A file of 4 KiB pages (a raw memory image) instead of the built-in page mix.",
        };
        var pages = new Option<int>("--pages", "-n")
        {
            Description = "Number of built-in pages (zero, text, binary, sparse, random) when no --file is given.",
            DefaultValueFactory = _ => DefaultPages,
        };
        var content = new Option<string>("--content", "-c")
        {
            Description = "Built-in pages: mix (zero, text, binary, sparse, random in rotation) or synthetic (the migration demo's guest model, calibrated to a real Debian guest's RAM).",
            DefaultValueFactory = _ => "mix",
        };
        content.AcceptOnlyFromAmong("mix", "synthetic");
        var threads = new Option<int>("--threads", "-t")
        {
            Description = "Run through the multi-thread engines with this many compress-threads (1-255); 0 = a plain single-threaded codec loop.",
            DefaultValueFactory = _ => 0,
        };
        var decompressThreads = new Option<int>("--decompress-threads")
        {
            Description = "decompress-threads (1-255) when --threads is given.",
            DefaultValueFactory = _ => MigrationOptions.Defaults.DecompressThreads,
        };
        var json = new Option<bool>("--json") { Description = "Print the results as JSON." };

        var command = new Command("compare", "Compare compression methods and levels on pages: ratio, MB/s, bytes per page, verified round trip.")
        {
            methods, levels, zlib, file, pages, content, threads, decompressThreads, json,
        };
        command.SetAction(parse => CliErrors.Run(() => Execute(
            parse.GetValue(methods)!,
            parse.GetValue(levels)!,
            parse.GetValue(zlib)!,
            parse.GetValue(file),
            parse.GetValue(pages),
            parse.GetValue(content)!,
            parse.GetValue(threads),
            parse.GetValue(decompressThreads),
            parse.GetValue(json))));
        return command;
    }

    private static int Execute(
        string methodList, string levelList, string zlibChoice, FileInfo? file, int pageCount, string content, int threads, int decompressThreads, bool json)
    {
        List<CodecCandidate> candidates = ParseCandidates(methodList, levelList, zlibChoice);
        if (threads is < 0 or > MigrationParameters.MaxThreads)
        {
            throw new EngineParameterException("compress-threads", $"--threads {threads} is out of range: accepted 0 (no engine) or 1 to 255");
        }

        _ = new MigrationParameters { DecompressThreads = decompressThreads }; // its setter checks the range, in the library's words

        NativeLibraries.SelfCheck();
        (byte[] data, string source) = LoadPages(file, pageCount, content);
        Func<CodecCandidate, CodecMeasurement> measure = threads == 0
            ? c => CodecComparer.Measure(c, data)
            : c => EngineComparer.Measure(c, data, threads, decompressThreads);

        var results = new List<CodecMeasurement>();
        bool interactive = !json && !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        if (interactive)
        {
            AnsiConsole.Progress()
                .AutoClear(true)
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .Start(ctx =>
                {
                    ProgressTask task = ctx.AddTask("comparing", maxValue: candidates.Count);
                    foreach (CodecCandidate c in candidates)
                    {
                        task.Description = $"comparing {c.Name}";
                        results.Add(measure(c));
                        task.Increment(1);
                    }
                });
        }
        else
        {
            foreach (CodecCandidate c in candidates)
            {
                results.Add(measure(c));
            }
        }

        if (json)
        {
            Console.WriteLine(ToJson(source, results).ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
        }
        else
        {
            Render(source, data.Length / PageCodecs.PageSize, threads, decompressThreads, results);
        }

        return results.All(r => r.Verified) ? 0 : CliErrors.Failure;
    }

    internal static List<CodecCandidate> ParseCandidates(string methodList, string levelList, string zlibChoice)
    {
        var methods = methodList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(CompressionSettings.ParseMethod).Distinct().ToList();
        if (methods.Count == 0)
        {
            throw new EngineParameterException("compress-method", "--methods is empty; known methods are: none, zlib, zstd");
        }

        var levels = new List<int>();
        foreach (string text in levelList.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int level))
            {
                throw new EngineParameterException("compress-level", $"compress-level '{text}' is not an integer");
            }

            levels.Add(level);
        }

        if (levels.Count == 0)
        {
            throw new EngineParameterException("compress-level", "--levels is empty");
        }

        ZlibImplementation[] zlibs = zlibChoice switch
        {
            "sharpziplib" => [ZlibImplementation.SharpZipLib],
            "both" => [ZlibImplementation.Native, ZlibImplementation.SharpZipLib],
            _ => [ZlibImplementation.Native],
        };

        var candidates = new List<CodecCandidate>();
        foreach (CompressMethod method in methods)
        {
            if (method == CompressMethod.None)
            {
                candidates.Add(new CodecCandidate(CompressionSettings.Create(CompressMethod.None, 0), ZlibImplementation.Native));
                continue;
            }

            foreach (int level in levels.Distinct())
            {
                // Every level is checked against every method, so "zstd -l 0" fails with zstd's range in the message.
                CompressionSettings settings = CompressionSettings.Create(method, level);
                foreach (ZlibImplementation impl in method == CompressMethod.Zlib ? zlibs : [ZlibImplementation.Native])
                {
                    candidates.Add(new CodecCandidate(settings, impl));
                }
            }
        }

        return candidates;
    }

    private static (byte[] Data, string Source) LoadPages(FileInfo? file, int pageCount, string content)
    {
        if (file is null)
        {
            if (pageCount is < 1 or > 1 << 20)
            {
                throw new EngineParameterException("pages", $"--pages {pageCount} is out of range: accepted 1 to {1 << 20}");
            }

            if (content == "synthetic")
            {
                byte[] synthetic = new byte[pageCount * PageCodecs.PageSize];
                var model = new SyntheticContent(seed: 1);
                for (int i = 0; i < pageCount; i++)
                {
                    model.Fill(synthetic.AsSpan(i * PageCodecs.PageSize, PageCodecs.PageSize), i);
                }

                return (synthetic, FormattableString.Invariant(
                    $"synthetic guest model, {pageCount} pages (measured on a real Debian guest: {SyntheticContent.MeasuredZeroFraction:P0} zero pages, zlib-1 ratio {SyntheticContent.MeasuredZlib1Ratio}, zlib-6 {SyntheticContent.MeasuredZlib6Ratio}, {SyntheticContent.MeasuredIncompressibleFraction:P1} of non-zero pages do not shrink)"));
            }

            return (PageMix.CreateMix(pageCount, seed: 1), $"built-in page mix, {pageCount} pages");
        }

        if (!file.Exists)
        {
            throw new IOException($"{file.FullName}: no such file");
        }

        const long MaxBytes = 4L << 30;
        if (file.Length > MaxBytes)
        {
            throw new EngineParameterException("file", $"{file.FullName} is {file.Length} bytes; compare reads at most {MaxBytes} bytes (4 GiB)");
        }

        if (file.Length == 0)
        {
            throw new InvalidDataException($"{file.FullName} is empty: no pages to compare");
        }

        // A trailing partial page is padded with zeros, as a guest would see the rest of its page.
        long padded = (file.Length + PageCodecs.PageSize - 1) / PageCodecs.PageSize * PageCodecs.PageSize;
        byte[] data = GC.AllocateUninitializedArray<byte>(checked((int)padded));
        using (FileStream stream = file.OpenRead())
        {
            stream.ReadExactly(data, 0, (int)file.Length);
        }

        data.AsSpan((int)file.Length).Clear();
        string note = padded != file.Length ? $", last page padded with {padded - file.Length} zero bytes" : string.Empty;
        return (data, $"{file.Name}, {padded / PageCodecs.PageSize} pages{note}");
    }

    private static void Render(string source, int pages, int threads, int decompressThreads, List<CodecMeasurement> results)
    {
        CodecMeasurement first = results[0];
        string how = threads == 0
            ? "single thread, codec loop"
            : $"multi-thread engines, compress-threads {threads}, decompress-threads {decompressThreads}";
        AnsiConsole.MarkupLine($"[bold]engine compare[/]: {Markup.Escape(source)}");
        AnsiConsole.MarkupLine(
            $"zero pages {Percent(first.ZeroPages, pages)}, {how}; ratio = non-zero bytes / bytes sent for them (raw pages count 4096)");
        var table = new Table().Border(TableBorder.Rounded);
        table.AddColumn("codec");
        table.AddColumn(new TableColumn("ratio").RightAligned());
        table.AddColumn(new TableColumn("qemu rate").RightAligned());
        table.AddColumn(new TableColumn("B/page").RightAligned());
        table.AddColumn(new TableColumn("raw pages").RightAligned());
        table.AddColumn(new TableColumn("compress MB/s").RightAligned());
        table.AddColumn(new TableColumn("decompress MB/s").RightAligned());
        table.AddColumn("round trip");
        foreach (CodecMeasurement r in results)
        {
            table.AddRow(
                Markup.Escape(r.Candidate.Name),
                r.Ratio.ToString("F2", CultureInfo.InvariantCulture),
                r.CompressionRate.ToString("F2", CultureInfo.InvariantCulture),
                r.BytesPerCompressedPage.ToString("F0", CultureInfo.InvariantCulture),
                Percent(r.RawPages, r.Pages - r.ZeroPages),
                r.CompressMBps.ToString("F0", CultureInfo.InvariantCulture),
                r.DecompressMBps.ToString("F0", CultureInfo.InvariantCulture),
                r.Verified ? "[green]ok[/]" : "[red]MISMATCH[/]");
        }

        AnsiConsole.Write(table);
    }

    private static string Percent(long part, long whole)
        => whole == 0 ? "0%" : (100.0 * part / whole).ToString("F1", CultureInfo.InvariantCulture) + "%";

    // JSON nodes, not a serialized anonymous type: the command is published Native AOT, which has no reflection serializer.
    private static JsonObject ToJson(string source, List<CodecMeasurement> results)
    {
        var rows = new JsonArray();
        foreach (CodecMeasurement r in results)
        {
            rows.Add((JsonNode)new JsonObject
            {
                ["codec"] = r.Candidate.Name,
                ["method"] = CompressionSettings.NameOf(r.Candidate.Settings.Method),
                ["level"] = r.Candidate.Settings.Level,
                ["zlib"] = r.Candidate.Settings.Method == CompressMethod.Zlib ? r.Candidate.Zlib.ToString().ToLowerInvariant() : null,
                ["compressThreads"] = r.Threads,
                ["decompressThreads"] = r.DecompressThreads,
                ["pages"] = r.Pages,
                ["zeroPages"] = r.ZeroPages,
                ["compressedPages"] = r.CompressedPages,
                ["rawPages"] = r.RawPages,
                ["payloadBytes"] = r.PayloadBytes,
                ["ratio"] = Math.Round(r.Ratio, 4),
                ["compressionRate"] = Math.Round(r.CompressionRate, 4),
                ["bytesPerCompressedPage"] = Math.Round(r.BytesPerCompressedPage, 1),
                ["compressMBps"] = Math.Round(r.CompressMBps, 1),
                ["decompressMBps"] = Math.Round(r.DecompressMBps, 1),
                ["verified"] = r.Verified,
            });
        }

        return new JsonObject { ["source"] = source, ["results"] = rows };
    }
}
