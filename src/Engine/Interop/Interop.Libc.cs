using System.Runtime.InteropServices;

namespace Engine;

internal static partial class Interop
{
    /// <summary>
    /// The few libc calls Engine makes itself on Linux: anonymous and file mappings and their advice (guest memory), and a
    /// gather write on a socket with its wait (<see cref="Transport.SocketGather"/>: multifd packets sent from guest memory).
    /// </summary>
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

        public const int EINTR = 4;
        public const int EAGAIN = 11;
        public const int MSG_DONTWAIT = 0x40;
        public const int MSG_NOSIGNAL = 0x4000;
        public const short POLLOUT = 0x4;

        /// <summary>One buffer of a gather write (<c>struct iovec</c>).</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct IoVec
        {
            public void* iov_base;
            public nuint iov_len;
        }

        /// <summary><c>struct msghdr</c> of 64-bit Linux (glibc and musl lay it out alike for the fields set here).</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct MsgHdr
        {
            public void* msg_name;
            public uint msg_namelen;
            public IoVec* msg_iov;
            public nuint msg_iovlen;
            public void* msg_control;
            public nuint msg_controllen;
            public int msg_flags;
        }

        /// <summary><c>struct pollfd</c>.</summary>
        [StructLayout(LayoutKind.Sequential)]
        public struct PollFd
        {
            public int fd;
            public short events;
            public short revents;
        }

        [LibraryImport("libc", EntryPoint = "sendmsg", SetLastError = true)]
        public static partial nint sendmsg(int sockfd, MsgHdr* msg, int flags);

        [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
        public static partial int poll(PollFd* fds, nuint nfds, int timeout);

        [LibraryImport("libc", EntryPoint = "fallocate", SetLastError = true)]
        public static partial int fallocate(Microsoft.Win32.SafeHandles.SafeFileHandle fd, int mode, long offset, long length);
    }
}
