namespace Engine.Transport;

/// <summary>Which end of a TLS connection: QEMU's <c>endpoint=client|server</c>.</summary>
internal enum TlsRole
{
    /// <summary>The connecting end (a migration's source): presents <c>client-cert.pem</c>, checks the server's name.</summary>
    Client,

    /// <summary>The listening end (a migration's destination): presents <c>server-cert.pem</c>, asks for the client's.</summary>
    Server,
}
