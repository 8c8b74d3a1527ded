using System.Net.Security;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Engine.Transport;

/// <summary>
/// Stops a TLS 1.3 server from sending session tickets, which a migration never uses: a QEMU source never reads its main
/// connection, so tickets it was sent stay unread in its socket, and its close then resets the connection (a socket
/// closed with unread data sends RST), which can discard the end of the stream before the destination has read it
/// (seen with QEMU 7.2: "Connection reset by peer" some MB before the end). QEMU's own GnuTLS server sends none (no
/// ticket key); OpenSSL, under .NET's SslStream, sends two even with <c>AllowTlsResume = false</c>.
/// </summary>
/// <remarks>
/// SslStream exposes no option for it, so this reaches the OpenSSL handle through SslStream's private fields (Linux,
/// .NET 8 to 10) and calls <c>SSL_set_num_tickets(ssl, 0)</c> when SslStream reads the client's second flight (its
/// certificate and Finished), that is after the handle exists and before OpenSSL answers that flight with the tickets.
/// (The certificate callback is too late: .NET validates after OpenSSL's handshake step has written them.) Best effort: where the fields or libssl.so.3
/// are not there, nothing happens and tickets are sent as before (<see cref="TrySuppress"/> returns false).
/// </remarks>
internal static class TlsSessionTickets
{
    private static readonly FieldInfo? s_context = typeof(SslStream).GetField("_securityContext", BindingFlags.NonPublic | BindingFlags.Instance);
    private static bool s_unavailable = !OperatingSystem.IsLinux() || s_context is null;

    /// <summary>Sets the server's ticket count to 0 on <paramref name="stream"/>'s OpenSSL handle; false where that cannot be done.</summary>
    [System.Diagnostics.CodeAnalysis.UnconditionalSuppressMessage("Trimming", "IL2075", Justification = "The .NET 8 path only; on .NET 10 the field holds the handle itself. A property trimmed away reads as null: tickets are sent as before.")]
    public static bool TrySuppress(object? stream)
    {
        if (s_unavailable || stream is not SslStream ssl)
        {
            return false;
        }

        try
        {
            // .NET 10 on Linux: the context is itself the SafeSslHandle (SSL*); .NET 8: it holds one in SslContext.
            object? context = s_context!.GetValue(ssl);
            SafeHandle? handle = context?.GetType().Name == "SafeSslHandle"
                ? context as SafeHandle
                : context?.GetType().GetProperty("SslContext", BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance)?.GetValue(context) as SafeHandle;
            if (handle is null || handle.IsInvalid || handle.GetType().Name != "SafeSslHandle")
            {
                return false;
            }

            bool added = false;
            try
            {
                handle.DangerousAddRef(ref added);
                return Interop.Ssl.SSL_set_num_tickets(handle.DangerousGetHandle(), 0) == 1;
            }
            finally
            {
                if (added)
                {
                    handle.DangerousRelease();
                }
            }
        }
        catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException or TargetInvocationException or FieldAccessException or MethodAccessException)
        {
            s_unavailable = true;
            return false;
        }
    }
}
