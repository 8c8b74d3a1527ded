using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Engine.Transport;

namespace Engine.Tests.Transport;

/// <summary>
/// Test certificates made in the test (never committed), in QEMU's tls-creds-x509 file layout: a CA, a server certificate
/// for 127.0.0.1/localhost and a client certificate, as <c>tests/interop/mk-certs.sh</c> makes them (RSA 2048, CA:TRUE on
/// the CA, CA:FALSE and serverAuth/clientAuth on the leaves, keyUsage digitalSignature+keyEncipherment), plus the bad ones:
/// another CA, expired, another name, another subject.
/// </summary>
internal sealed class TestCertificates : IDisposable
{
    private static readonly Lazy<TestCertificates> s_shared = new(() => new TestCertificates());

    private readonly string _root = Path.Combine(Path.GetTempPath(), "engine-tls-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly Dictionary<string, TlsCredentials> _loaded = new();
    private int _next;

    private TestCertificates()
    {
        Directory.CreateDirectory(_root);
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
        Ca = CreateCa("CN=Test CA");
        OtherCa = CreateCa("CN=Other CA");
    }

    /// <summary>One set for the whole test run (certificate generation costs ~100 ms a key).</summary>
    public static TestCertificates Shared => s_shared.Value;

    public X509Certificate2 Ca { get; }

    public X509Certificate2 OtherCa { get; }

    /// <summary>The good server directory (server-cert.pem for 127.0.0.1 and localhost).</summary>
    public string ServerDir => Cached("server", () => Write(Ca, Issue(Ca, "CN=server", TlsRole.Server), TlsRole.Server));

    /// <summary>The good client directory (subject CN=client).</summary>
    public string ClientDir => Cached("client", () => Write(Ca, Issue(Ca, "CN=client,O=Engine", TlsRole.Client), TlsRole.Client));

    public TlsCredentials Server => Load(ServerDir, TlsRole.Server);

    public TlsCredentials Client => Load(ClientDir, TlsRole.Client);

    /// <summary>A directory in the layout QEMU reads, holding <paramref name="leaf"/> for <paramref name="role"/> and <paramref name="trusted"/> as ca-cert.pem.</summary>
    public string Write(X509Certificate2 trusted, X509Certificate2 leaf, TlsRole role, string? name = null)
    {
        string dir = Path.Combine(_root, name ?? $"set{Interlocked.Increment(ref _next)}");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, TlsCredentials.CaCertFile), trusted.ExportCertificatePem());
        File.WriteAllText(Path.Combine(dir, TlsCredentials.CertFile(role)), leaf.ExportCertificatePem());
        using RSA key = leaf.GetRSAPrivateKey()!;
        File.WriteAllText(Path.Combine(dir, TlsCredentials.KeyFile(role)), key.ExportPkcs8PrivateKeyPem());
        return dir;
    }

    /// <summary>A leaf certificate issued by <paramref name="issuer"/>.</summary>
    public static X509Certificate2 Issue(
        X509Certificate2 issuer,
        string subject,
        TlsRole role,
        DateTimeOffset? notBefore = null,
        DateTimeOffset? notAfter = null,
        string[]? dnsNames = null,
        IPAddress[]? addresses = null)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid(role == TlsRole.Server ? "1.3.6.1.5.5.7.3.1" : "1.3.6.1.5.5.7.3.2")], false));
        var san = new SubjectAlternativeNameBuilder();
        foreach (IPAddress address in addresses ?? [IPAddress.Loopback])
        {
            san.AddIpAddress(address);
        }

        foreach (string dns in dnsNames ?? ["localhost"])
        {
            san.AddDnsName(dns);
        }

        request.CertificateExtensions.Add(san.Build());
        DateTimeOffset from = notBefore ?? DateTimeOffset.UtcNow.AddDays(-1);
        DateTimeOffset to = notAfter ?? DateTimeOffset.UtcNow.AddYears(5);
        byte[] serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7f;
        using X509Certificate2 issued = request.Create(issuer, from, to, serial);
        return issued.CopyWithPrivateKey(key);
    }

    /// <summary>A leaf that was valid in November 2024 only (load it with <see cref="LoadExpired"/>).</summary>
    public static X509Certificate2 IssueExpired(X509Certificate2 issuer, string subject, TlsRole role)
        => Issue(issuer, subject, role, new DateTimeOffset(2024, 11, 1, 0, 0, 0, TimeSpan.Zero), new DateTimeOffset(2024, 12, 1, 0, 0, 0, TimeSpan.Zero));

    /// <summary>Loads credentials on a clock set to November 2024, when <see cref="IssueExpired"/>'s certificates were valid.</summary>
    public static TlsCredentials LoadExpired(string dir, TlsRole role) => TlsCredentials.Load(dir, role, new Support.ManualTimeProvider());

    /// <summary>Loads a directory's credentials once (RSA key import costs time; the tests share them).</summary>
    public TlsCredentials Load(string dir, TlsRole role)
    {
        lock (_loaded)
        {
            string key = role + ":" + dir;
            if (!_loaded.TryGetValue(key, out TlsCredentials? credentials))
            {
                credentials = TlsCredentials.Load(dir, role);
                _loaded[key] = credentials;
            }

            return credentials;
        }
    }

    public void Dispose()
    {
        foreach (TlsCredentials c in _loaded.Values)
        {
            c.Dispose();
        }

        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    private static X509Certificate2 CreateCa(string subject)
    {
        using RSA key = RSA.Create(2048);
        var request = new CertificateRequest(subject, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        // From 2020, so that certificates that expired long ago can be loaded on a clock set back (ManualTimeProvider's 2024).
        return request.CreateSelfSigned(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero), DateTimeOffset.UtcNow.AddYears(10));
    }

    private readonly Dictionary<string, string> _dirs = new();

    private string Cached(string name, Func<string> make)
    {
        lock (_dirs)
        {
            if (!_dirs.TryGetValue(name, out string? dir))
            {
                dir = make();
                _dirs[name] = dir;
            }

            return dir;
        }
    }
}
