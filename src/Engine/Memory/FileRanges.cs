using Microsoft.Win32.SafeHandles;

namespace Engine.Memory;

/// <summary>Disk space for a range of a file about to be written whole (<c>extract</c>'s images).</summary>
internal static class FileRanges
{
    /// <summary>
    /// Allocates the <paramref name="length"/> bytes at <paramref name="offset"/> of <paramref name="file"/> (Linux
    /// <c>fallocate</c>, mode 0: the file's size is unchanged inside it) before the caller writes that whole range. On ext4 a
    /// buffered write into a hole reserves and records each 4 KiB block on its own (delayed allocation); into an allocated
    /// range it does not, and one <c>fallocate</c> allocates the range as one extent: about half the time of writing 240 MB
    /// in 1 MiB writes on the measured VM. Only a speed-up: where it fails (a file system without it, no space) the write
    /// that follows goes on as it would have, and reports a real error itself.
    /// </summary>
    public static void Allocate(SafeFileHandle file, long offset, long length)
    {
        if (OperatingSystem.IsLinux() && length > 0)
        {
            _ = Interop.Libc.fallocate(file, 0, offset, length);
        }
    }
}
