using System.Net.Security;

namespace Engine.Transport;

/// <summary>
/// A TLS connection made by <see cref="TlsTransport"/>: an <see cref="SslStream"/> that also tells which stream it runs over
/// (<see cref="SslStream"/> keeps that protected), so the migration code can reach the socket for timeouts, poll and shutdown.
/// </summary>
internal sealed class MigrationTlsStream : SslStream
{
    internal MigrationTlsStream(Stream transport)
        : base(transport, leaveInnerStreamOpen: false)
    {
        Transport = transport;
    }

    /// <summary>The stream the TLS records travel on (owned: disposed with this one).</summary>
    public Stream Transport { get; }
}
