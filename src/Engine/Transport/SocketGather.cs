using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Engine.Transport;

/// <summary>
/// A gather write on a plain TCP socket on Linux: <c>sendmsg</c> over several buffers at once (a multifd packet's header
/// and its pages where they lie in guest memory), so the kernel's copy into the socket is the only one. Fails as a
/// <see cref="NetworkStream"/> write on the same socket fails: an <see cref="IOException"/> "Unable to write data to the
/// transport connection: …" around the <see cref="SocketException"/> (a reset, a shutdown, the send timeout).
/// </summary>
/// <remarks>
/// Design: each <c>sendmsg</c> is non-blocking (<c>MSG_DONTWAIT</c>; a .NET socket's descriptor may be blocking or not) and
/// takes what the socket's buffer has room for; a short write advances the buffers and goes on. When nothing fits,
/// <c>poll</c> waits for room for at most the socket's <see cref="Socket.SendTimeout"/> (none when it is 0 or -1), the bound a
/// blocking write on it has; a poll that runs out is the timeout's error. A shutdown of the socket from another thread (a
/// cancellation, a failed channel) wakes the poll, and the next <c>sendmsg</c> fails with the broken pipe. The bytes have
/// been taken (copied by the kernel) once <c>sendmsg</c> returns: the caller may reuse the buffers after the call.
/// </remarks>
internal static unsafe class SocketGather
{
    /// <summary>sendmsg and poll as declared in <see cref="Interop.Libc"/>: 64-bit Linux only.</summary>
    public static bool IsSupported { get; } = OperatingSystem.IsLinux() && IntPtr.Size == 8;

    /// <summary>
    /// Writes every byte of <paramref name="iov"/>[0..<paramref name="count"/>) on <paramref name="socket"/>, in order; the
    /// entries are changed (advanced past what was written). Returns how many <c>sendmsg</c> calls took less than was left.
    /// </summary>
    public static int WriteAll(Socket socket, Interop.Libc.IoVec* iov, int count)
    {
        SafeSocketHandle handle = socket.SafeHandle;
        bool added = false;
        int shortWrites = 0;
        try
        {
            // The descriptor stays open (and is not reused) for the call even if the socket is disposed meanwhile.
            handle.DangerousAddRef(ref added);
            int fd = (int)handle.DangerousGetHandle();
            int first = 0;
            while (first < count)
            {
                Interop.Libc.MsgHdr message = default;
                message.msg_iov = iov + first;
                message.msg_iovlen = (nuint)(count - first);
                nint sent = Interop.Libc.sendmsg(fd, &message, Interop.Libc.MSG_DONTWAIT | Interop.Libc.MSG_NOSIGNAL);
                if (sent < 0)
                {
                    int errno = Marshal.GetLastPInvokeError();
                    if (errno == Interop.Libc.EINTR)
                    {
                        continue;
                    }

                    if (errno != Interop.Libc.EAGAIN)
                    {
                        throw WriteFailure(errno);
                    }

                    WaitForRoom(socket, fd);
                    continue;
                }

                // Skip the buffers written whole, then advance into the one written in part.
                nuint left = (nuint)sent;
                while (first < count && left >= iov[first].iov_len)
                {
                    left -= iov[first].iov_len;
                    first++;
                }

                if (first < count)
                {
                    shortWrites++;
                    iov[first].iov_base = (byte*)iov[first].iov_base + left;
                    iov[first].iov_len -= left;
                }
            }
        }
        finally
        {
            if (added)
            {
                handle.DangerousRelease();
            }
        }

        return shortWrites;
    }

    /// <summary>Waits until the socket can take bytes (or has failed: the next sendmsg says how), within its send timeout.</summary>
    private static void WaitForRoom(Socket socket, int fd)
    {
        int timeout = socket.SendTimeout;
        if (timeout <= 0)
        {
            timeout = -1;
        }

        while (true)
        {
            Interop.Libc.PollFd wait = new() { fd = fd, events = Interop.Libc.POLLOUT };
            int ready = Interop.Libc.poll(&wait, 1, timeout);
            if (ready > 0)
            {
                return;
            }

            if (ready == 0)
            {
                throw WriteFailure(SocketError.TimedOut);
            }

            int errno = Marshal.GetLastPInvokeError();
            if (errno != Interop.Libc.EINTR)
            {
                throw WriteFailure(errno);
            }
        }
    }

    /// <summary>The error a <see cref="NetworkStream"/> write reports for <paramref name="errno"/>.</summary>
    private static IOException WriteFailure(int errno) => errno switch
    {
        32 => WriteFailure(SocketError.Shutdown), // EPIPE
        104 => WriteFailure(SocketError.ConnectionReset),
        110 => WriteFailure(SocketError.TimedOut),
        107 => WriteFailure(SocketError.NotConnected),
        103 => WriteFailure(SocketError.ConnectionAborted),
        101 => WriteFailure(SocketError.NetworkUnreachable),
        100 => WriteFailure(SocketError.NetworkDown),
        113 => WriteFailure(SocketError.HostUnreachable),
        105 => WriteFailure(SocketError.NoBufferSpaceAvailable),
        9 => WriteFailure(SocketError.OperationAborted), // EBADF: closed under the write
        _ => new IOException($"Unable to write data to the transport connection: {Marshal.GetPInvokeErrorMessage(errno)}."),
    };

    private static IOException WriteFailure(SocketError error)
    {
        var socketError = new SocketException((int)error);
        return new IOException($"Unable to write data to the transport connection: {socketError.Message}.", socketError);
    }
}
