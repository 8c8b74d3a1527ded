using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Engine.Codecs;
using Engine.Tools;
using Engine.Wire;

namespace Engine.Cli.Commands;

/// <summary>
/// <c>engine inspect</c>, <c>engine extract</c> and <c>engine transcode</c>: QEMU migration files, read with the hardened reader.
/// </summary>
internal static class StreamCommands
{
    public static Command CreateInspect()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A QEMU migration stream (e.g. saved with migrate \"exec:cat > FILE\")." };
        var json = new Option<bool>("--json") { Description = "Print the summary as JSON." };
        Option<long> offset = OffsetOption();
        var command = new Command("inspect", "Show a migration file's header, configuration, sections, RAM blocks, record counts by kind, methods and bytes "
            + "(for a mapped-ram file: each block's pages present and their offsets).")
        {
            file, json, offset,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            FileInfo input = Existing(parse.GetValue(file)!);
            using FileStream stream = OpenAt(input, parse.GetValue(offset));
            StreamSummary summary = ByteProgress.Run("inspecting", input.Length, progress => StreamInspector.Inspect(stream, progress: progress));
            if (parse.GetValue(json))
            {
                Console.WriteLine(JsonSerializer.Serialize(summary, CliJsonContext.Default.StreamSummary));
            }
            else
            {
                summary.WriteText(Console.Out);
            }

            return 0;
        }));
        return command;
    }

    public static Command CreateExtract()
    {
        var file = new Argument<FileInfo>("FILE") { Description = "A QEMU migration stream." };
        var output = new Option<DirectoryInfo>("--out", "-o")
        {
            Description = "Directory for the RAM images (one BLOCK.raw per RAM block); created if missing.",
            Required = true,
        };
        var parameters = new MigrationOptions();
        Option<long> offset = OffsetOption();
        var command = new Command("extract", "Write the guest RAM of a migration file as one raw image per RAM block (stops after RAM's END section; "
            + "a mapped-ram file's pages are read at their offsets, in parallel).")
        {
            file, output, parameters.DecompressThreads, offset,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            Engine.Migration.MigrationParameters p = parameters.Build(parse);
            FileInfo input = Existing(parse.GetValue(file)!);
            DirectoryInfo outDir = parse.GetValue(output)!;
            using FileStream stream = OpenAt(input, parse.GetValue(offset));
            RamExtractResult result = ByteProgress.Run("extracting", input.Length, progress => RamExtractor.Extract(
                stream,
                outDir.FullName,
                new RamExtractOptions { Parameters = p, Progress = progress }));
            foreach (ExtractedBlock block in result.Blocks)
            {
                Console.WriteLine($"{block.Name}\t{block.Length.ToString(CultureInfo.InvariantCulture)} bytes\t{block.Path}");
            }

            Console.WriteLine(FormattableString.Invariant(
                $"{result.Blocks.Count} block(s) from {result.Counts.BytesRead} bytes; pages: {result.Counts.CompressedPages} compressed, {result.Counts.RawPages} raw, {result.Counts.ZeroPages} zero, {result.Counts.XbzrlePages} xbzrle")
                + (result.Counts.MappedRamPages > 0 ? FormattableString.Invariant($", {result.Counts.MappedRamPages} mapped-ram (read at their file offsets)") : string.Empty));
            return 0;
        }));
        return command;
    }

    public static Command CreateTranscode()
    {
        var input = new Argument<FileInfo>("IN") { Description = "A QEMU migration stream." };
        var output = new Argument<FileInfo>("OUT") { Description = "The re-encoded stream (overwritten)." };
        var parameters = new MigrationOptions();
        Option<string> format = FormatOption("OUT");
        var offset = new Option<long>("--offset")
        {
            Description = "Where the QEMU stream starts in IN, in bytes (QEMU's file:PATH,offset=N; e.g. after libvirt's save-image header): "
                + "OUT gets IN's first N bytes and its stream at N too, so it loads with the same file:OUT,offset=N.",
            DefaultValueFactory = _ => 0,
        };
        var command = new Command(
            "transcode",
            "Re-encode a migration file's RAM pages with another method and level; everything else is copied byte for byte, so QEMU loads the result. "
            + "IN may be a mapped-ram file; --format mapped-ram writes one.")
        {
            input, output, parameters.Method, parameters.Level, parameters.CompressThreads, format, offset,
        };
        command.SetAction(parse => CliErrors.Run(() =>
        {
            bool mappedRam = IsMappedRamFormat(parse.GetValue(format)!);
            Engine.Migration.MigrationParameters p = parameters.Build(parse);
            p.Compression = MappedRamSettings(mappedRam, parse.GetResult(parameters.Method) is { Implicit: false }, parse.GetValue(parameters.Method)!, parse.GetValue(parameters.Level));
            CompressionSettings settings = p.Compression;
            FileInfo source = Existing(parse.GetValue(input)!);
            FileInfo target = parse.GetValue(output)!;
            if (string.Equals(source.FullName, target.FullName, StringComparison.Ordinal))
            {
                throw new EngineParameterException("OUT", $"OUT is the same file as IN ({source.FullName}); transcode writes a new file");
            }

            // A mapped-ram file on either side is not a sequence of page records, and a stream at an offset keeps the bytes
            // before it: these go through memory.
            long at = parse.GetValue(offset);
            TranscodeResult result = mappedRam || at != 0 || Engine.Tools.MemoryTranscode.IsMappedRamFile(source.FullName)
                ? Engine.Tools.MemoryTranscode.Run(source.FullName, target.FullName, settings, p.CompressThreads, mappedRam, at)
                : ByteProgress.Run("transcoding", source.Length, progress => Transcoder.Transcode(
                    source.FullName,
                    target.FullName,
                    new TranscodeOptions { Parameters = p, Progress = progress }));
            Console.WriteLine(FormattableString.Invariant(
                $"{source.Name}: {result.BytesRead} bytes -> {target.Name}: {result.BytesWritten} bytes ({(mappedRam ? "mapped-ram, " : string.Empty)}{settings}); pages: {result.CompressedPages} compressed, {result.RawPages} raw, {result.ZeroPages} zero, {result.XbzrlePages} xbzrle; {result.BytesCopiedAfterRam} bytes after RAM copied verbatim"));
            return 0;
        }));
        return command;
    }

    /// <summary><c>--format stream|mapped-ram</c>: what a command writes to <paramref name="what"/>.</summary>
    internal static Option<string> FormatOption(string what)
    {
        var option = new Option<string>("--format")
        {
            Description = $"The format of {what}: stream (one QEMU migration stream, loaded with -incoming \"exec:cat FILE\") or mapped-ram "
                + "(QEMU 9.0+'s mapped-ram file, as virsh save writes it: restored with the mapped-ram capability on and migrate-incoming file:FILE; pages uncompressed, zero pages left as holes).",
            DefaultValueFactory = _ => "stream",
        };
        option.AcceptOnlyFromAmong("stream", "mapped-ram");
        return option;
    }

    /// <summary>True for <c>--format mapped-ram</c>.</summary>
    internal static bool IsMappedRamFormat(string format) => format == "mapped-ram";

    /// <summary>
    /// The compression settings for the chosen format: with mapped-ram, none (an explicit zlib or zstd is refused by name:
    /// mapped-ram has no compressed form); otherwise what <c>--compress-method</c>/<c>--compress-level</c> say.
    /// </summary>
    internal static CompressionSettings MappedRamSettings(bool mappedRam, bool methodGiven, string method, int level)
    {
        if (!mappedRam)
        {
            return CompressionSettings.Parse(method, level);
        }

        if (methodGiven && CompressionSettings.ParseMethod(method) != CompressMethod.None)
        {
            throw new EngineParameterException(
                "compress-method",
                $"--compress-method {method} cannot be used with --format mapped-ram: a mapped-ram file keeps every page uncompressed at its "
                + "fixed offset (QEMU has no compressed mapped-ram); leave --compress-method out or give none");
        }

        return CompressionSettings.Parse("none", 0);
    }

    private static Option<long> OffsetOption() => new("--offset")
    {
        Description = "Where the QEMU stream starts in FILE, in bytes (QEMU's file:PATH,offset=N; e.g. after libvirt's save-image header). "
            + "A mapped-ram file's own offsets count from the start of FILE.",
        DefaultValueFactory = _ => 0,
    };

    /// <summary>Opens <paramref name="file"/> for reading, positioned at <paramref name="offset"/>.</summary>
    private static FileStream OpenAt(FileInfo file, long offset)
    {
        if (offset < 0 || offset > file.Length)
        {
            throw new EngineParameterException("offset", $"--offset {offset} is outside {file.FullName} ({file.Length} bytes)");
        }

        var stream = new FileStream(file.FullName, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        stream.Position = offset;
        return stream;
    }

    private static FileInfo Existing(FileInfo file)
    {
        if (!file.Exists)
        {
            throw new IOException($"{file.FullName}: no such file");
        }

        return file;
    }
}
