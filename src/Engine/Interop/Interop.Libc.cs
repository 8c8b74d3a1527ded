using System.Runtime.InteropServices;

namespace Engine;

internal static partial class Interop
{
    /// <summary>The few libc calls guest memory needs on Linux: anonymous and file mappings, and their advice.</summary>
    internal static unsafe partial class Libc
    {
        public const int PROT_READ = 0x1;
        public const int PROT_WRITE = 0x2;
        public const int MAP_SHARED = 0x01;
        public const int MAP_PRIVATE = 0x02;
        public const int MAP_ANONYMOUS = 0x20;
        public const int MAP_NORESERVE = 0x4000;
        public const int MADV_HUGEPAGE = 14;
        public const int MADV_NOHUGEPAGE = 15;
        public const int MADV_POPULATE_READ = 22;
        public const int MADV_POPULATE_WRITE = 23;

        /// <summary>mmap's failure value, <c>(void*)-1</c>.</summary>
        public static readonly void* MAP_FAILED = (void*)-1;

        [LibraryImport("libc", EntryPoint = "mmap", SetLastError = true)]
        public static partial void* mmap(void* addr, nuint length, int prot, int flags, int fd, long offset);

        [LibraryImport("libc", EntryPoint = "munmap", SetLastError = true)]
        public static partial int munmap(void* addr, nuint length);

        [LibraryImport("libc", EntryPoint = "madvise", SetLastError = true)]
        public static partial int madvise(void* addr, nuint length, int advice);

        [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
        public static partial int fallocate(Microsoft.Win32.SafeHandles.SafeFileHandle fd, int mode, long offset, long length);
    }
}
