namespace Engine.Transport;

/// <summary>
/// How one end runs TLS, as QEMU's <c>tls-creds</c>, <c>tls-hostname</c> and <c>tls-authz</c> parameters: built once
/// (credentials loaded and checked) and used for every connection of a migration (the main one and each multifd channel).
/// </summary>
public sealed record TlsOptions
{
    /// <summary>This end's credentials (<see cref="TlsCredentials.Load"/>); their <see cref="TlsCredentials.Role"/> is this end's.</summary>
    public required TlsCredentials Credentials { get; init; }

    /// <summary>
    /// Client: the name the server's certificate must carry (a DNS name or an IP address, matched against its subject
    /// alternative names); when null, the host of the URI connected to (QEMU's <c>tls-hostname</c>).
    /// </summary>
    public string? Hostname { get; init; }

    /// <summary>
    /// Server: the client certificate subjects accepted (QEMU's <c>tls-authz</c> list), as distinguished names such as
    /// <c>CN=client,O=Example</c> (RFC 4514 order; spaces after commas do not matter). Null or empty: any certificate the CA
    /// signed.
    /// </summary>
    public IReadOnlyList<string>? AuthorizedSubjects { get; init; }

    /// <summary>
    /// Verify the peer's certificate (default on, QEMU's <c>verify-peer=on</c>). Off: the server does not ask for a client
    /// certificate and the client accepts any server certificate; the link is encrypted but not authenticated.
    /// </summary>
    public bool VerifyPeer { get; init; } = true;

    /// <summary>The longest a handshake may take, a peer that trickles or stalls it included.</summary>
    public TimeSpan HandshakeTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Parses a <c>--tls-authz</c> value: distinguished names separated by <c>;</c> (a DN itself holds commas).</summary>
    public static IReadOnlyList<string> ParseAuthorizedSubjects(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string[] names = text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
        {
            throw new EngineParameterException("tls-authz", $"tls-authz '{text}' names no subject: give distinguished names such as CN=client,O=Example separated by ';'");
        }

        foreach (string name in names)
        {
            TlsPeerVerifier.NormalizeSubject(name); // throws naming the bad one
        }

        return names;
    }
}
