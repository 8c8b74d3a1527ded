using Engine.Wire;

namespace Engine.Tools;

/// <summary>
/// <c>engine extract</c>: turns a migration stream (QEMU's or Engine's) into one raw image per RAM block. For a full QEMU
/// migration file it stops after RAM's END section; the device sections after it are not needed.
/// </summary>
public static class RamExtractor
{
    /// <summary>Extracts the RAM of <paramref name="input"/> into <paramref name="outputDirectory"/>.</summary>
    /// <remarks>
    /// The images are written into a staging directory inside <paramref name="outputDirectory"/> and moved into place only
    /// once the whole RAM section has been read and applied, so a stream that fails part-way (truncated, corrupt) leaves
    /// no partial images behind, and files already in <paramref name="outputDirectory"/> are untouched by a failed run.
    /// The staging directory is on the same file system, so each move is a rename.
    /// </remarks>
    /// <exception cref="MigrationStreamException">The stream is malformed or a page does not decompress.</exception>
    public static RamExtractResult Extract(Stream input, string outputDirectory, RamExtractOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        options ??= new RamExtractOptions();
        string target = Path.GetFullPath(outputDirectory);
        bool createdTarget = !Directory.Exists(target);
        Directory.CreateDirectory(target);
        string staging = Path.Combine(target, $".engine-extract-{Guid.NewGuid():N}.tmp");
        try
        {
            (IReadOnlyList<ExtractedBlock> staged, RamLoadCounts counts) = ExtractInto(input, staging, options);
            var blocks = new List<ExtractedBlock>(staged.Count);
            foreach (ExtractedBlock block in staged)
            {
                string path = Path.Combine(target, Path.GetFileName(block.Path));
                File.Move(block.Path, path, overwrite: true);
                blocks.Add(block with { Path = path });
            }

            return new RamExtractResult(blocks, counts);
        }
        catch
        {
            // A directory this run created, and that holds nothing else, goes too: a failed extract leaves no trace.
            DeleteQuietly(staging);
            if (createdTarget && !Directory.EnumerateFileSystemEntries(target).Any())
            {
                DeleteQuietly(target);
            }

            throw;
        }
        finally
        {
            DeleteQuietly(staging);
        }
    }

    /// <summary>Extracts the RAM of the file at <paramref name="path"/>.</summary>
    public static RamExtractResult Extract(string path, string outputDirectory, RamExtractOptions? options = null)
    {
        using FileStream input = new(path, FileMode.Open, FileAccess.Read, FileShare.Read, bufferSize: 1, FileOptions.SequentialScan);
        return Extract(input, outputDirectory, options);
    }

    /// <summary>The image file name of a RAM block, as extract and <c>engine incoming --save-images</c> name it: its name with anything but letters, digits, '.', '-' and '@' as '_', plus <c>.raw</c>.</summary>
    public static string FileNameFor(string blockName)
    {
        Span<char> name = blockName.Length <= 255 ? stackalloc char[blockName.Length] : new char[blockName.Length];
        for (int i = 0; i < blockName.Length; i++)
        {
            char c = blockName[i];
            name[i] = char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '@' ? c : '_';
        }

        string trimmed = name.ToString().Trim('_', '.');
        return (trimmed.Length == 0 ? "block" : trimmed) + ".raw";
    }

    private static (IReadOnlyList<ExtractedBlock> Blocks, RamLoadCounts Counts) ExtractInto(Stream input, string directory, RamExtractOptions options)
    {
        MigrationStreamReaderOptions readerOptions = options.ReaderOptions ?? new MigrationStreamReaderOptions();
        using var reader = new MigrationStreamReader(input, readerOptions with { AcceptMappedRam = true }, leaveOpen: true);

        // Disposed (image files closed) before the caller moves the images into place.
        using var sink = new RamImageSink(directory, options.DecompressThreads, options.DecompressorFactory);
        RamLoadCounts counts = RamStreamLoader.Load(reader, sink, options.Progress);
        sink.Flush();
        if (!counts.RamComplete)
        {
            throw new MigrationStreamException(reader.Position, "expected the RAM section's END, found the end of the stream");
        }

        if (reader.IsMappedRam)
        {
            // The stream held no pages: they are at fixed offsets in the file, copied in parallel into the (zero) images.
            counts.MappedRamPages = sink.LoadMappedRam(input, reader, options.MappedRamThreads, readerOptions.CancellationToken);
            sink.Flush();
        }

        return (sink.Blocks, counts);
    }

    private static void DeleteQuietly(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Cleaning up must not hide the error that made the extract fail.
        }
    }
}
