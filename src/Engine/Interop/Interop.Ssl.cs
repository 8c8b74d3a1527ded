using System.Runtime.InteropServices;

namespace Engine;

internal static partial class Interop
{
    /// <summary>The one OpenSSL call .NET's SslStream does not offer (see <c>Transport.TlsSessionTickets</c>).</summary>
    internal static partial class Ssl
    {
        /// <summary>The libssl .NET's own native shim loads on Linux (OpenSSL 3).</summary>
        public const string Library = "libssl.so.3";

        /// <summary>How many TLS 1.3 session tickets a server sends after the handshake (OpenSSL's default is 2).</summary>
        [LibraryImport(Library, EntryPoint = "SSL_set_num_tickets")]
        public static partial int SSL_set_num_tickets(nint ssl, nuint numTickets);
    }
}
