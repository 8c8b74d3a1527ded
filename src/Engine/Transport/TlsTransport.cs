using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json.Nodes;

namespace Engine.Transport;

/// <summary>
/// TLS on a migration connection, as QEMU's tls-creds-x509 runs it: the handshake starts right after the TCP connect, with
/// no in-band negotiation, no SNI and no ALPN; TLS 1.3 preferred, 1.2 allowed; both ends verify each other against
/// <c>ca-cert.pem</c>. Every connection of a migration (the main one and each multifd channel) goes through here.
/// </summary>
/// <remarks>
/// <para>How other code wraps its connections (credentials are loaded and checked once, then used per connection):</para>
/// <code>
/// // once, before anything is sent (a bad directory throws EngineParameterException "tls-creds ...")
/// var tls = new TlsOptions { Credentials = TlsCredentials.Load(dir, TlsRole.Client), Hostname = tlsHostname };
///
/// // source / client, per connection: connect, then authenticate (the SslStream owns the TCP stream)
/// NetworkStream tcp = TcpTransport.Connect(host, port, connectTimeout, ioTimeout, ct);
/// SslStream main = TlsTransport.AuthenticateAsClient(tcp, tls, host, ct);
/// ... write the stream ...
/// TlsTransport.ShutdownSend(main);   // TLS close_notify, then TCP FIN; the peer's reply can still be read
/// TlsTransport.Close(main);          // close_notify if not sent yet (best effort), then dispose
///
/// // destination / server, per accepted connection (the engine command's Engine.Tools.MigrationListener does this and refuses the rest)
/// SslStream s = TlsTransport.AuthenticateAsServer(acceptedTcp, serverTls, ct);
///
/// // code that needs more of a plain or TLS connection than its stream (timeouts, shutdown, the peer's name, its watch)
/// MigrationConnection? connection = MigrationConnection.Of(stream);
/// </code>
/// <para>
/// Every refusal throws <see cref="EngineException"/> with <see cref="EngineErrorKind.Security"/> and a message that says
/// who was refused and why: no certificate, another CA, expired, another name, a subject outside <c>tls-authz</c>, a
/// plaintext peer, a peer that answered in plaintext, a handshake that stalled past <see cref="TlsOptions.HandshakeTimeout"/>.
/// The server writes a plaintext peer one JSON error line (<c>Engine.Migration.MigrationReply</c>'s format) before closing,
/// so a plaintext Engine source reports the reason too. With TLS 1.3 the client finishes its handshake before the server
/// has checked the client's certificate; a refusal then reaches the client as an alert on its first read or write
/// (<see cref="DescribeFailure"/> turns it into the sentence to report).
/// </para>
/// </remarks>
public static class TlsTransport
{
    /// <summary>TLS 1.3 preferred (negotiated when both ends have it), TLS 1.2 allowed.</summary>
    public const SslProtocols Protocols = SslProtocols.Tls12 | SslProtocols.Tls13;

    /// <summary>The first byte of a TLS handshake record (content type 22).</summary>
    private const byte HandshakeRecord = 0x16;

    /// <summary>How a multifd channel's hello starts (its magic, big-endian: Engine.Multifd.MultifdFormat.Magic).</summary>
    private static ReadOnlySpan<byte> PlainMultifdHello => [0x11, 0x22, 0x33, 0x44];

    /// <summary>
    /// Runs the client handshake on a connected <paramref name="connection"/> (which the returned stream then owns; on failure
    /// it is disposed). The server's certificate must chain to <c>ca-cert.pem</c> and carry <see cref="TlsOptions.Hostname"/>,
    /// else <paramref name="uriHost"/> (the host connected to).
    /// </summary>
    public static SslStream AuthenticateAsClient(Stream connection, TlsOptions options, string? uriHost, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        RequireRole(options, TlsRole.Client);
        string? name = string.IsNullOrEmpty(options.Hostname) ? uriHost : options.Hostname;
        if (options.VerifyPeer && string.IsNullOrEmpty(name))
        {
            connection.Dispose();
            throw new EngineParameterException("tls-hostname", "no hostname for certificate validation: give tls-hostname (--tls-hostname NAME) or connect to a named host");
        }

        string peer = Peer(connection, name);
        var recorder = new HandshakeRecorder(connection);
        var ssl = new MigrationTlsStream(recorder);
        var check = new PeerCheck(options, TlsCredentials.ServerAuthOid, "was not sent", static (c, n) => TlsPeerVerifier.NameFault(c, (string)n!), name);
        var sslOptions = new SslClientAuthenticationOptions
        {
            // No SNI, as QEMU: the name is checked in the callback, not sent.
            TargetHost = string.Empty,
            EnabledSslProtocols = Protocols,
            ClientCertificateContext = options.Credentials.ClientContext,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            AllowTlsResume = false,
            RemoteCertificateValidationCallback = check.Validate,
        };

        return Handshake(ssl, recorder, check, options, $"the destination {peer}", string.Empty, token => ssl.AuthenticateAsClientAsync(sslOptions, token), cancellationToken);
    }

    /// <summary>
    /// Runs the server handshake on an accepted <paramref name="connection"/> (which the returned stream then owns; on failure
    /// it is disposed). With <see cref="TlsOptions.VerifyPeer"/> the client must present a certificate that chains to
    /// <c>ca-cert.pem</c>, and whose subject is in <see cref="TlsOptions.AuthorizedSubjects"/> when that is given. A peer that
    /// opens with anything but a TLS handshake record is told so in one plaintext JSON error line and refused.
    /// </summary>
    public static SslStream AuthenticateAsServer(NetworkStream connection, TlsOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(connection);
        ArgumentNullException.ThrowIfNull(options);
        RequireRole(options, TlsRole.Server);
        string peer = Peer(connection, null);
        try
        {
            RefusePlaintext(connection, options, peer);
        }
        catch
        {
            connection.Dispose();
            throw;
        }

        IReadOnlyList<string>? authz = options.AuthorizedSubjects is { Count: > 0 } list ? list : null;
        // The handshake reads through a recorder whose hook turns TLS 1.3 session tickets off once OpenSSL's handle exists
        // (a QEMU source never reads them, and its close would then reset the connection: see TlsSessionTickets).
        var recorder = new HandshakeRecorder(connection);
        var ssl = new MigrationTlsStream(recorder);
        recorder.BeforeRead = () => TlsSessionTickets.TrySuppress(ssl);
        var check = new PeerCheck(
            options,
            TlsCredentials.ClientAuthOid,
            "was not sent (this destination requires a client certificate signed by its CA)",
            static (c, a) => a is null ? null : TlsPeerVerifier.AuthzFault(c, (IReadOnlyList<string>)a),
            authz);
        var sslOptions = new SslServerAuthenticationOptions
        {
            ServerCertificateContext = options.Credentials.ServerContext,
            ClientCertificateRequired = options.VerifyPeer,
            EnabledSslProtocols = Protocols,
            CertificateRevocationCheckMode = X509RevocationMode.NoCheck,
            AllowRenegotiation = false,
            AllowTlsResume = false,
            RemoteCertificateValidationCallback = check.Validate,
        };

        return Handshake(ssl, recorder, check, options, $"the source {peer}", " (a stalled or trickling peer)", token => ssl.AuthenticateAsServerAsync(sslOptions, token), cancellationToken);
    }

    /// <summary>
    /// Opens an outgoing migration connection as QEMU does: TCP to <paramref name="host"/>:<paramref name="port"/>, then with
    /// <paramref name="tls"/> (client credentials) the handshake at once, the server's certificate checked against
    /// <see cref="TlsOptions.Hostname"/> or <paramref name="host"/>. Used for the main connection, each multifd channel and
    /// a relay's outgoing side.
    /// </summary>
    internal static Stream Connect(string host, int port, TlsOptions? tls, TimeSpan connectTimeout, TimeSpan ioTimeout, CancellationToken cancellationToken = default)
    {
        NetworkStream tcp = TcpTransport.Connect(host, port, connectTimeout, ioTimeout, cancellationToken);
        return tls is null ? tcp : AuthenticateAsClient(tcp, tls, host, cancellationToken);
    }

    /// <summary>
    /// Accepts the next migration connection from <paramref name="listener"/> as QEMU's listener does: TCP, then with
    /// <paramref name="tls"/> (server credentials) the handshake at once. A peer refused by TLS throws
    /// <see cref="EngineException"/> (<see cref="EngineErrorKind.Security"/>); the listener stays usable.
    /// </summary>
    internal static Stream Accept(TcpListener listener, TlsOptions? tls, TimeSpan ioTimeout, CancellationToken cancellationToken = default)
    {
        NetworkStream tcp = TcpTransport.Accept(listener, ioTimeout, cancellationToken);
        return tls is null ? tcp : AuthenticateAsServer(tcp, tls, cancellationToken);
    }

    /// <summary>
    /// Ends the sending side: on TLS a close_notify, then the TCP FIN (a plain connection only gets the FIN). The peer's
    /// answer can still be read. Throws <see cref="IOException"/> if the connection is gone.
    /// </summary>
    public static void ShutdownSend(Stream connection, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (MigrationConnection.Of(connection) is { } known)
        {
            known.ShutdownSend(timeout);
        }
        else if (connection is SslStream ssl)
        {
            MigrationConnection.SendCloseNotify(ssl, timeout ?? TcpTransport.DefaultIoTimeout);
        }
    }

    /// <summary>Closes <paramref name="connection"/>: a TLS close_notify first when it is TLS and can still send (best effort), then dispose.</summary>
    public static void Close(Stream connection, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(connection);
        if (connection is SslStream ssl)
        {
            try
            {
                MigrationConnection.SendCloseNotify(ssl, timeout ?? TimeSpan.FromSeconds(5));
            }
            catch (Exception e) when (e is AggregateException or IOException or InvalidOperationException or ObjectDisposedException or NotSupportedException)
            {
                // Sent already, or the connection is gone: nothing more to say to the peer.
            }
        }

        connection.Dispose();
    }

    /// <summary>
    /// A sentence for a failure on a TLS connection after its handshake (the peer's alert, a reset), for the error the
    /// migration reports; for example a TLS 1.3 server refusing this client's certificate after the client's handshake ended.
    /// </summary>
    public static string DescribeFailure(Exception failure)
    {
        ArgumentNullException.ThrowIfNull(failure);
        var parts = new List<string>();
        for (Exception? e = failure; e is not null; e = e.InnerException)
        {
            if (!string.IsNullOrEmpty(e.Message) && !parts.Any(p => p.Contains(e.Message, StringComparison.Ordinal)))
            {
                parts.Add(e.Message.TrimEnd('.'));
            }
        }

        string text = string.Join(": ", parts);
        if (text.Contains("alert", StringComparison.OrdinalIgnoreCase))
        {
            if (text.Contains("CertificateRequired", StringComparison.OrdinalIgnoreCase) || text.Contains("certificate required", StringComparison.OrdinalIgnoreCase))
            {
                return $"the peer requires a client certificate ({text})";
            }

            if (text.Contains("Certificate", StringComparison.OrdinalIgnoreCase) || text.Contains("UnknownCA", StringComparison.OrdinalIgnoreCase) || text.Contains("AccessDenied", StringComparison.OrdinalIgnoreCase))
            {
                return $"the peer refused this end's certificate (not from its CA, expired, or not in its tls-authz; the peer's log says which) ({text})";
            }
        }

        return text;
    }

    internal static EngineException Refused(string message, Exception? inner = null) => new(EngineErrorKind.Security, message, null, inner);

    /// <summary>
    /// The handshake both roles share: run <paramref name="authenticate"/> within <see cref="TlsOptions.HandshakeTimeout"/>,
    /// and turn a failure into the sentence that says who was refused and why (<paramref name="who"/>: "the source X" or
    /// "the destination X"). On failure the stream (and the connection under it) is disposed.
    /// </summary>
    private static MigrationTlsStream Handshake(MigrationTlsStream ssl, HandshakeRecorder recorder, PeerCheck check, TlsOptions options, string who, string stallNote, Func<CancellationToken, Task> authenticate, CancellationToken cancellationToken)
    {
        try
        {
            using CancellationTokenSource deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(options.HandshakeTimeout);
            authenticate(deadline.Token).GetAwaiter().GetResult();
            recorder.StopRecording();
            return ssl;
        }
        catch (Exception e)
        {
            ssl.Dispose();
            cancellationToken.ThrowIfCancellationRequested();
            if (check.Fault is not null)
            {
                throw Refused($"TLS: refused {who}: its certificate {check.Fault}", e);
            }

            if (e is OperationCanceledException)
            {
                throw Refused($"TLS: the handshake with {who} did not finish within {options.HandshakeTimeout.TotalSeconds:0.#} s{stallNote}", e);
            }

            // Only a client can see a plaintext answer here (a server refused a plaintext peer before its handshake).
            if (recorder.DescribePlaintext() is string plaintext)
            {
                throw Refused($"TLS: {who} does not speak TLS (is it listening without --tls-creds?): it answered {plaintext}", e);
            }

            throw Refused($"TLS: the handshake with {who} failed: {DescribeFailure(e)}", e);
        }
    }

    private static void RequireRole(TlsOptions options, TlsRole role)
    {
        if (options.Credentials.Role != role)
        {
            throw new ArgumentException($"TLS credentials loaded for the {options.Credentials.Role} end cannot run the {role} side of a handshake", nameof(options));
        }
    }

    private static string? Verify(X509Certificate certificate, X509Chain? chain, TlsCredentials credentials, string ekuOid, Func<X509Certificate2, object?, string?> more, object? state)
    {
        // The certificate object belongs to SslStream: read it, do not dispose it.
        var leaf = certificate as X509Certificate2 ?? new X509Certificate2(certificate);
        return TlsPeerVerifier.ChainFault(leaf, chain?.ChainPolicy.ExtraStore, credentials.Authorities, ekuOid, DateTimeOffset.UtcNow) ?? more(leaf, state);
    }

    private static void RefusePlaintext(NetworkStream connection, TlsOptions options, string peer)
    {
        // QEMU's listener starts TLS at once; so does this one. A first byte that is not a handshake record is a plaintext
        // source (a migration stream starts with "QEVM"): say so to both ends instead of failing on a "corrupted frame".
        Socket socket = connection.Socket;
        if (!socket.Poll(options.HandshakeTimeout, SelectMode.SelectRead))
        {
            throw Refused($"TLS: the source {peer} sent nothing within {options.HandshakeTimeout.TotalSeconds:0.#} s (a stalled peer)");
        }

        Span<byte> first = stackalloc byte[16];
        int n;
        try
        {
            n = socket.Receive(first, SocketFlags.Peek);
        }
        catch (SocketException e)
        {
            throw Refused($"TLS: the connection from {peer} failed before the handshake: {e.Message}", e);
        }

        if (n == 0)
        {
            throw Refused($"TLS: the source {peer} closed the connection before the TLS handshake");
        }

        if (first[0] == HandshakeRecord)
        {
            return;
        }

        string seen = Show(first[..n]);
        TryWriteErrorLine(connection, "the destination requires TLS (it was started with --tls-creds): start the source with TLS credentials");

        throw Refused($"TLS: refused the source {peer}: it did not start TLS but sent {seen}{(first[..n].StartsWith("QEVM"u8) ? " (a plaintext migration stream)" : first[..n].StartsWith(PlainMultifdHello) ? " (a plaintext multifd channel's hello)" : "")}; this destination requires TLS");
    }

    /// <summary>Best effort: one line in Engine.Migration.MigrationReply's error format, which an Engine source reports as the reason.</summary>
    internal static void TryWriteErrorLine(Stream connection, string reason)
    {
        string line = new JsonObject { ["status"] = "error", ["error"] = reason }.ToJsonString();
        try
        {
            connection.Write(Encoding.UTF8.GetBytes(line + "\n"));
            connection.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException or NotSupportedException)
        {
            // The source will see the connection close instead.
        }
    }

    internal static string Show(ReadOnlySpan<byte> bytes)
    {
        var hex = new StringBuilder();
        var text = new StringBuilder();
        foreach (byte b in bytes)
        {
            hex.Append(hex.Length == 0 ? "" : " ").Append(b.ToString("x2", System.Globalization.CultureInfo.InvariantCulture));
            text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
        }

        return $"{hex} ('{text}')";
    }

    private static string Peer(Stream connection, string? name)
    {
        // Unknown (closed): named by the host only.
        string? remote = MigrationConnection.Of(connection) is { } known ? MigrationConnection.EndPointName(known.Socket) : null;
        return remote is null ? name ?? "(unknown peer)" : name is null ? remote : $"{name} ({remote})";
    }

    /// <summary>The peer certificate check of one handshake, and why it refused (read after a failed handshake).</summary>
    private sealed class PeerCheck(TlsOptions options, string ekuOid, string missing, Func<X509Certificate2, object?, string?> more, object? state)
    {
        public string? Fault { get; private set; }

        public bool Validate(object sender, X509Certificate? certificate, X509Chain? chain, SslPolicyErrors errors)
        {
            if (!options.VerifyPeer)
            {
                return true;
            }

            Fault = certificate is null ? missing : Verify(certificate, chain, options.Credentials, ekuOid, more, state);
            return Fault is null;
        }
    }
}
