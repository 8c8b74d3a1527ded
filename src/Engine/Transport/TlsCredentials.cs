using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Transport;

/// <summary>
/// X.509 credentials in the layout QEMU's <c>tls-creds-x509</c> reads from its <c>dir</c>: <c>ca-cert.pem</c> (the CA that
/// signs both ends), <c>server-cert.pem</c> + <c>server-key.pem</c> (the listening end), <c>client-cert.pem</c> +
/// <c>client-key.pem</c> (the connecting end). Loaded and checked once, before any connection is made.
/// </summary>
/// <remarks>
/// <see cref="Load"/> refuses, with an <see cref="EngineParameterException"/> for <c>tls-creds</c> that names the file and
/// what is wrong: a missing or unreadable file, a file that holds no PEM certificate or key, a key that does not belong to
/// its certificate, a CA certificate without CA:TRUE, an own certificate that is expired or not yet valid, not issued by
/// <c>ca-cert.pem</c>, a CA itself, or whose extended key usage excludes its role (QEMU's own load-time sanity checks).
/// A wrong directory therefore fails before anything is sent, not as a handshake error on the peer.
/// </remarks>
public sealed class TlsCredentials : IDisposable
{
    /// <summary>The CA certificate(s) both ends trust.</summary>
    public const string CaCertFile = "ca-cert.pem";

    /// <summary>The listening end's certificate.</summary>
    public const string ServerCertFile = "server-cert.pem";

    /// <summary>The listening end's private key.</summary>
    public const string ServerKeyFile = "server-key.pem";

    /// <summary>The connecting end's certificate.</summary>
    public const string ClientCertFile = "client-cert.pem";

    /// <summary>The connecting end's private key.</summary>
    public const string ClientKeyFile = "client-key.pem";

    /// <summary>TLS web server authentication (extended key usage).</summary>
    internal const string ServerAuthOid = "1.3.6.1.5.5.7.3.1";

    /// <summary>TLS web client authentication (extended key usage).</summary>
    internal const string ClientAuthOid = "1.3.6.1.5.5.7.3.2";

    private SslStreamCertificateContext? _context;

    private TlsCredentials(string directory, TlsRole role, X509Certificate2 certificate, X509Certificate2Collection authorities)
    {
        Directory = directory;
        Role = role;
        Certificate = certificate;
        Authorities = authorities;
    }

    /// <summary>The directory the files were read from.</summary>
    public string Directory { get; }

    /// <summary>Which end these credentials are for (which certificate and key were loaded).</summary>
    internal TlsRole Role { get; }

    /// <summary>This end's certificate, with its private key.</summary>
    public X509Certificate2 Certificate { get; }

    /// <summary>The certificates of <c>ca-cert.pem</c>: the only roots a peer's certificate may chain to.</summary>
    public X509Certificate2Collection Authorities { get; }

    /// <summary>This end's certificate as a server presents it; it names the CA in its certificate request, so a client picks the right certificate.</summary>
    internal SslStreamCertificateContext ServerContext => _context ??= SslStreamCertificateContext.Create(
        Certificate, null, offline: true, SslCertificateTrust.CreateForX509Collection(Authorities, sendTrustInHandshake: true));

    /// <summary>This end's certificate as a client presents it.</summary>
    internal SslStreamCertificateContext ClientContext => _context ??= SslStreamCertificateContext.Create(Certificate, null, offline: true);

    /// <summary>
    /// Reads and checks the listening end's credentials in <paramref name="directory"/> (QEMU's file names:
    /// <c>ca-cert.pem</c>, <c>server-cert.pem</c>, <c>server-key.pem</c>). Throws <see cref="EngineParameterException"/>
    /// (parameter <c>tls-creds</c>) naming the file and the fault.
    /// </summary>
    public static TlsCredentials LoadServer(string directory) => Load(directory, TlsRole.Server);

    /// <summary>
    /// Reads and checks the connecting end's credentials in <paramref name="directory"/> (<c>ca-cert.pem</c>,
    /// <c>client-cert.pem</c>, <c>client-key.pem</c>). Throws <see cref="EngineParameterException"/> (parameter
    /// <c>tls-creds</c>) naming the file and the fault.
    /// </summary>
    public static TlsCredentials LoadClient(string directory) => Load(directory, TlsRole.Client);

    /// <summary>
    /// Reads and checks <paramref name="directory"/> for <paramref name="role"/>. Throws <see cref="EngineParameterException"/>
    /// (parameter <c>tls-creds</c>) naming the file and the fault.
    /// </summary>
    internal static TlsCredentials Load(string directory, TlsRole role, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(directory);
        DateTimeOffset now = (time ?? TimeProvider.System).GetUtcNow();
        if (!System.IO.Directory.Exists(directory))
        {
            throw Fault(directory, $"the directory does not exist (it must hold {CaCertFile}, {CertFile(role)} and {KeyFile(role)})");
        }

        X509Certificate2Collection authorities = LoadAuthorities(directory);
        X509Certificate2? certificate = null;
        try
        {
            certificate = LoadOwn(directory, role);
            Check(directory, role, certificate, authorities, now);
            return new TlsCredentials(Path.GetFullPath(directory), role, certificate, authorities);
        }
        catch
        {
            certificate?.Dispose();
            foreach (X509Certificate2 ca in authorities)
            {
                ca.Dispose();
            }

            throw;
        }
    }

    /// <summary>The certificate file of <paramref name="role"/>.</summary>
    internal static string CertFile(TlsRole role) => role == TlsRole.Server ? ServerCertFile : ClientCertFile;

    /// <summary>The key file of <paramref name="role"/>.</summary>
    internal static string KeyFile(TlsRole role) => role == TlsRole.Server ? ServerKeyFile : ClientKeyFile;

    /// <summary>Frees the certificates and the key.</summary>
    public void Dispose()
    {
        Certificate.Dispose();
        foreach (X509Certificate2 ca in Authorities)
        {
            ca.Dispose();
        }
    }

    /// <summary>A one-line description of a certificate for messages: subject, issuer, validity.</summary>
    internal static string Describe(X509Certificate2 certificate)
        => $"'{certificate.Subject}' issued by '{certificate.Issuer}', valid {certificate.NotBefore.ToUniversalTime():yyyy-MM-dd HH:mm} to {certificate.NotAfter.ToUniversalTime():yyyy-MM-dd HH:mm} UTC";

    private static X509Certificate2Collection LoadAuthorities(string directory)
    {
        string path = Path.Combine(directory, CaCertFile);
        string pem = ReadText(directory, CaCertFile);
        var authorities = new X509Certificate2Collection();
        try
        {
            authorities.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw Fault(directory, $"{CaCertFile} is not a PEM certificate: {e.Message}");
        }

        if (authorities.Count == 0)
        {
            throw Fault(directory, $"{CaCertFile} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        foreach (X509Certificate2 ca in authorities)
        {
            if (ca.Extensions[BasicConstraintsOid] is X509BasicConstraintsExtension { CertificateAuthority: false })
            {
                throw Fault(directory, $"{CaCertFile}: '{ca.Subject}' is not a CA certificate (basicConstraints CA:FALSE); {path} must hold the CA that signed both ends");
            }
        }

        return authorities;
    }

    private const string BasicConstraintsOid = "2.5.29.19";

    private static X509Certificate2 LoadOwn(string directory, TlsRole role)
    {
        string certText = ReadText(directory, CertFile(role));
        string keyText = ReadText(directory, KeyFile(role));
        if (!certText.Contains("-----BEGIN CERTIFICATE-----", StringComparison.Ordinal))
        {
            throw Fault(directory, $"{CertFile(role)} holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
        }

        if (!keyText.Contains("PRIVATE KEY-----", StringComparison.Ordinal))
        {
            throw Fault(directory, $"{KeyFile(role)} holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
        }

        X509Certificate2 pemBound;
        try
        {
            pemBound = X509Certificate2.CreateFromPem(certText, keyText);
        }
        catch (CryptographicException e)
        {
            // The typical case: the key is another certificate's ("the key does not match the certificate").
            throw Fault(directory, $"{KeyFile(role)} is not the private key of {CertFile(role)}, or one of them is malformed: {e.Message}");
        }

        return pemBound;
    }

    private static void Check(string directory, TlsRole role, X509Certificate2 certificate, X509Certificate2Collection authorities, DateTimeOffset now)
    {
        string file = CertFile(role);
        if (now < certificate.NotBefore.ToUniversalTime() || now > certificate.NotAfter.ToUniversalTime())
        {
            throw Fault(directory, $"{file} is {(now < certificate.NotBefore.ToUniversalTime() ? "not valid yet" : "expired")}: {Describe(certificate)}");
        }

        if (certificate.Extensions[BasicConstraintsOid] is X509BasicConstraintsExtension { CertificateAuthority: true })
        {
            throw Fault(directory, $"{file} is a CA certificate (basicConstraints CA:TRUE); the {role.ToString().ToLowerInvariant()} needs a leaf certificate");
        }

        string? fault = TlsPeerVerifier.ChainFault(certificate, null, authorities, role == TlsRole.Server ? ServerAuthOid : ClientAuthOid, now);
        if (fault is not null)
        {
            throw Fault(directory, $"{file} {fault}");
        }
    }

    private static string ReadText(string directory, string file)
    {
        string path = Path.Combine(directory, file);
        if (!File.Exists(path))
        {
            throw Fault(directory, $"{file} is missing");
        }

        try
        {
            return File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw Fault(directory, $"{file} cannot be read: {e.Message}");
        }
    }

    private static EngineParameterException Fault(string directory, string what)
        => new("tls-creds", $"tls-creds '{directory}': {what}");
}
