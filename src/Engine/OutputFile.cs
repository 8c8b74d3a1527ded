namespace Engine;

/// <summary>
/// Writes an output file all or nothing: under <c>PATH.tmp</c>, renamed to <c>PATH</c> only when complete. A failure part
/// way leaves neither a partial file nor a changed earlier file at that path. The one copy of this for every tool that
/// writes a file (<c>engine transcode</c>, <c>engine incoming --save-stream</c>).
/// </summary>
internal static class OutputFile
{
    /// <summary>
    /// Writes <paramref name="path"/> through <paramref name="write"/> under a temporary name and renames it when complete;
    /// with <paramref name="flushToDisk"/> the bytes reach the disk before the rename. Returns what <paramref name="write"/>
    /// returned; on a failure, deletes the temporary file and rethrows.
    /// </summary>
    public static T WriteThenRename<T>(string path, Func<FileStream, T> write, bool flushToDisk)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        string temporary = path + ".tmp";
        try
        {
            T result;
            using (FileStream file = new(temporary, FileMode.Create, FileAccess.Write, FileShare.None, bufferSize: 1))
            {
                result = write(file);
                file.Flush(flushToDisk);
            }

            File.Move(temporary, path, overwrite: true);
            return result;
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Cleaning up must not hide the error that made the write fail.
            }

            throw;
        }
    }
}
