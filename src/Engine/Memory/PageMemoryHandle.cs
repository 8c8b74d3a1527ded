using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Engine.Memory;

/// <summary>
/// Owns a run of page-aligned native memory that holds guest RAM: anonymous memory (zero until written) or a private,
/// copy-on-write mapping of a raw memory image. A SafeHandle, so memory nobody disposed still goes back exactly once.
/// </summary>
/// <remarks>
/// Design: guest RAM is big and mostly written once or never (57% of a real guest's pages are zero). On Linux it comes
/// from <c>mmap</c>, so the kernel hands out zeroed pages only when they are first written (a destination never touches
/// the pages that arrive as ZERO records) and, with <c>MADV_HUGEPAGE</c>, in 2 MiB steps; an image is mapped, not read, so
/// the source never copies memory it only reads (its writers' first write to a page copies that page). Measured on a
/// 512 MiB image: allocating, zeroing and reading the image into fresh memory took most of <c>engine migrate</c>'s
/// process time (docs/PERFORMANCE.md). Elsewhere the memory comes from <see cref="NativeMemory.AlignedAlloc"/>, zeroed.
/// </remarks>
internal sealed unsafe class PageMemoryHandle : SafeHandle
{
    private const nuint HugePage = 2 * 1024 * 1024;

    private readonly bool _mapped;

    private PageMemoryHandle(byte* pointer, nuint length, bool mapped)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle((IntPtr)pointer);
        Length = length;
        _mapped = mapped;
    }

    /// <summary>The number of bytes owned.</summary>
    public nuint Length { get; }

    /// <summary>The first byte. Valid until the handle is disposed.</summary>
    public byte* Pointer => (byte*)handle;

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>
    /// <paramref name="length"/> bytes (a multiple of 4096) that read as zero, page aligned; in 2 MiB pages where the kernel
    /// has them, unless <paramref name="hugePages"/> is false.
    /// </summary>
    /// <remarks>
    /// With <paramref name="hugePages"/> the memory starts on a 2 MiB boundary (when it is at least 2 MiB long), so that a
    /// block's 2 MiB regions (<see cref="HugeRegions"/>) are the kernel's huge pages. A destination's memory is allocated
    /// that way (<see cref="GuestMemory.AddReceivingBlock"/>): one fault per 2 MiB instead of one per 4 KiB page
    /// (docs/PERFORMANCE.md, "The destination's memory in 2 MiB regions again").
    /// </remarks>
    public static PageMemoryHandle AllocateZeroed(nuint length, bool hugePages = true)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        if (OperatingSystem.IsLinux())
        {
            bool align = hugePages && length >= HugePage;
            nuint reserve = align ? length + HugePage : length;
            void* p = Interop.Libc.mmap(null, reserve, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_PRIVATE | Interop.Libc.MAP_ANONYMOUS | Interop.Libc.MAP_NORESERVE, -1, 0);
            if (p == Interop.Libc.MAP_FAILED)
            {
                throw new OutOfMemoryException($"could not reserve {length} bytes of guest memory (mmap: errno {Marshal.GetLastPInvokeError()})");
            }

            if (align)
            {
                // Keep the 2 MiB-aligned part: unmap the head before it and the tail after it (nothing was touched yet).
                nuint start = (nuint)p;
                nuint aligned = (start + HugePage - 1) & ~(HugePage - 1);
                if (aligned > start)
                {
                    _ = Interop.Libc.munmap(p, aligned - start);
                }

                nuint end = aligned + length;
                if (start + reserve > end)
                {
                    _ = Interop.Libc.munmap((void*)end, start + reserve - end);
                }

                p = (void*)aligned;
            }

            if (length >= HugePage)
            {
                // Advice only: where transparent huge pages are off, the kernel ignores it.
                _ = Interop.Libc.madvise(p, length, hugePages ? Interop.Libc.MADV_HUGEPAGE : Interop.Libc.MADV_NOHUGEPAGE);
            }

            return new PageMemoryHandle((byte*)p, length, mapped: true);
        }

        byte* pointer = (byte*)NativeMemory.AlignedAlloc(length, (nuint)PageSizes.PageSize);
        NativeMemory.Clear(pointer, length);
        return new PageMemoryHandle(pointer, length, mapped: false);
    }

    /// <summary>
    /// The first <paramref name="fileLength"/> bytes of <paramref name="file"/> in <paramref name="length"/> bytes of
    /// memory (<paramref name="length"/> is <paramref name="fileLength"/> rounded up to whole pages; the tail reads as
    /// zero). Writes go to private copies, never to the file. On Linux a private mapping whose page tables are filled at
    /// once (<c>MADV_POPULATE_READ</c>); elsewhere a copy.
    /// </summary>
    public static PageMemoryHandle MapImage(SafeFileHandle file, long fileLength, nuint length)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        if (OperatingSystem.IsLinux())
        {
            int fd = (int)file.DangerousGetHandle();
            void* p = Interop.Libc.mmap(null, length, Interop.Libc.PROT_READ | Interop.Libc.PROT_WRITE, Interop.Libc.MAP_PRIVATE, fd, 0);
            if (p != Interop.Libc.MAP_FAILED)
            {
                // Fill the page tables with the page cache's pages now, read-only: one system call instead of a fault per
                // page, and no copy (MAP_POPULATE would break copy-on-write and copy every page). Older kernels refuse
                // the advice; the pages then fault in as they are read.
                _ = Interop.Libc.madvise(p, length, Interop.Libc.MADV_POPULATE_READ);
                return new PageMemoryHandle((byte*)p, length, mapped: true);
            }
        }

        PageMemoryHandle memory = AllocateZeroed(length);
        try
        {
            long done = 0;
            while (done < fileLength)
            {
                int chunk = (int)Math.Min(1 << 24, fileLength - done);
                int read = RandomAccess.Read(file, new Span<byte>(memory.Pointer + done, chunk), done);
                if (read == 0)
                {
                    throw new EndOfStreamException($"the image ended at byte {done} of {fileLength}");
                }

                done += read;
            }

            return memory;
        }
        catch
        {
            memory.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        if (_mapped)
        {
            _ = Interop.Libc.munmap((void*)handle, Length);
        }
        else
        {
            NativeMemory.AlignedFree((void*)handle);
        }

        return true;
    }
}
