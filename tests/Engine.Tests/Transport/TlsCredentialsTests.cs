using System.Security.Cryptography.X509Certificates;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Transport;

/// <summary>A bad credentials directory is a clear error when it is loaded, before anything is sent.</summary>
public sealed class TlsCredentialsTests
{
    private static TestCertificates Certs => TestCertificates.Shared;

    private static string Copy(string from)
    {
        string dir = Path.Combine(Path.GetTempPath(), "engine-tls-copy-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(dir);
        foreach (string file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(dir, Path.GetFileName(file)));
        }

        return dir;
    }

    private static string Refusal(string dir, TlsRole role)
    {
        try
        {
            EngineParameterException e = Assert.Throws<EngineParameterException>(() => TlsCredentials.Load(dir, role).Dispose());
            Assert.Equal("tls-creds", e.Parameter);
            return e.Message;
        }
        finally
        {
            if (dir.Contains("engine-tls-copy-", StringComparison.Ordinal))
            {
                Directory.Delete(dir, true);
            }
        }
    }

    [Fact]
    public void TheGoodDirectoriesLoadForTheirRoleAndNotTheOther()
    {
        using TlsCredentials server = TlsCredentials.Load(Certs.ServerDir, TlsRole.Server);
        Assert.Equal(TlsRole.Server, server.Role);
        Assert.True(server.Certificate.HasPrivateKey);
        Assert.Single(server.Authorities);
        Assert.Contains("client-cert.pem is missing", Refusal(Certs.ServerDir, TlsRole.Client));
    }

    [Fact]
    public void AMissingDirectoryOrFileIsNamed()
    {
        Assert.Contains("the directory does not exist", Refusal("/nonexistent/creds", TlsRole.Server));
        string dir = Copy(Certs.ServerDir);
        File.Delete(Path.Combine(dir, "ca-cert.pem"));
        Assert.Contains("ca-cert.pem is missing", Refusal(dir, TlsRole.Server));
        dir = Copy(Certs.ServerDir);
        File.Delete(Path.Combine(dir, "server-key.pem"));
        Assert.Contains("server-key.pem is missing", Refusal(dir, TlsRole.Server));
    }

    [SkippableFact]
    public void AnUnreadableFileIsNamed()
    {
        Skip.If(OperatingSystem.IsWindows() || Environment.UserName == "root", "root reads any file, so an unreadable one cannot be made");
        if (OperatingSystem.IsWindows())
        {
            return;
        }

        string dir = Copy(Certs.ServerDir);
        File.SetUnixFileMode(Path.Combine(dir, "server-key.pem"), UnixFileMode.None);
        Assert.Contains("server-key.pem cannot be read", Refusal(dir, TlsRole.Server));
    }

    [Fact]
    public void AFileWithoutPemIsNamed()
    {
        string dir = Copy(Certs.ServerDir);
        File.WriteAllText(Path.Combine(dir, "server-cert.pem"), "not a certificate\n");
        Assert.Contains("server-cert.pem holds no PEM certificate", Refusal(dir, TlsRole.Server));
        dir = Copy(Certs.ServerDir);
        File.WriteAllText(Path.Combine(dir, "ca-cert.pem"), "");
        Assert.Contains("ca-cert.pem holds no PEM certificate", Refusal(dir, TlsRole.Server));
    }

    [Fact]
    public void AKeyOfAnotherCertificateIsRefused()
    {
        string dir = Copy(Certs.ServerDir);
        File.Copy(Path.Combine(Certs.ClientDir, "client-key.pem"), Path.Combine(dir, "server-key.pem"), overwrite: true);
        Assert.Contains("server-key.pem is not the private key of server-cert.pem", Refusal(dir, TlsRole.Server));
    }

    [Fact]
    public void ACertificateOfAnotherCaIsRefused()
    {
        string dir = Copy(Certs.ServerDir);
        File.WriteAllText(Path.Combine(dir, "ca-cert.pem"), Certs.OtherCa.ExportCertificatePem());
        string message = Refusal(dir, TlsRole.Server);
        Assert.Contains("server-cert.pem is not issued by the CA in ca-cert.pem", message);
    }

    [Fact]
    public void AnExpiredOwnCertificateIsRefused()
    {
        string dir = Certs.Write(Certs.Ca, TestCertificates.IssueExpired(Certs.Ca, "CN=client", TlsRole.Client), TlsRole.Client);
        Assert.Contains("client-cert.pem is expired", Refusal(dir, TlsRole.Client));
    }

    [Fact]
    public void ALeafAsCaOrTheWrongUsageIsRefused()
    {
        // A leaf in ca-cert.pem (CA:FALSE) is not a CA.
        string dir = Copy(Certs.ServerDir);
        File.Copy(Path.Combine(dir, "server-cert.pem"), Path.Combine(dir, "ca-cert.pem"), overwrite: true);
        Assert.Contains("is not a CA certificate", Refusal(dir, TlsRole.Server));

        // A client certificate (clientAuth only) as the server's.
        using X509Certificate2 client = TestCertificates.Issue(Certs.Ca, "CN=client", TlsRole.Client);
        dir = Certs.Write(Certs.Ca, client, TlsRole.Server);
        Assert.Contains("does not allow TLS server authentication", Refusal(dir, TlsRole.Server));
    }

    [Fact]
    public void TlsAuthzParsesDistinguishedNamesSeparatedBySemicolons()
    {
        Assert.Equal(["CN=client,O=Example", "CN=other"], TlsOptions.ParseAuthorizedSubjects("CN=client,O=Example; CN=other"));
        Assert.Equal("tls-authz", Assert.Throws<EngineParameterException>(() => TlsOptions.ParseAuthorizedSubjects(" ; ")).Parameter);
        Assert.Contains("is not a distinguished name", Assert.Throws<EngineParameterException>(() => TlsOptions.ParseAuthorizedSubjects("client")).Message);
    }
}
