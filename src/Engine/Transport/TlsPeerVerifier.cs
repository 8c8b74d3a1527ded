using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Engine.Transport;

/// <summary>
/// The checks on a peer's certificate, as QEMU's tls-creds-x509 with <c>verify-peer=on</c> makes them: it chains to
/// <c>ca-cert.pem</c> alone (no system roots, no revocation lookups), is valid now, its extended key usage (when present)
/// allows its role; a server's certificate carries the expected name; a client's subject is in <c>tls-authz</c> when one
/// is given. Each check returns null or a sentence saying what is wrong, for the error both ends report.
/// </summary>
internal static class TlsPeerVerifier
{
    /// <summary>Null if <paramref name="certificate"/> chains to one of <paramref name="authorities"/> for <paramref name="ekuOid"/> at <paramref name="now"/>.</summary>
    public static string? ChainFault(X509Certificate2 certificate, X509Certificate2Collection? intermediates, X509Certificate2Collection authorities, string ekuOid, DateTimeOffset now)
    {
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(authorities);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = now.UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        chain.ChainPolicy.DisableCertificateDownloads = true;
        chain.ChainPolicy.ApplicationPolicy.Add(new Oid(ekuOid));
        if (intermediates is not null)
        {
            chain.ChainPolicy.ExtraStore.AddRange(intermediates);
        }

        if (chain.Build(certificate))
        {
            return null;
        }

        X509ChainStatusFlags flags = X509ChainStatusFlags.NoError;
        foreach (X509ChainElement element in chain.ChainElements)
        {
            foreach (X509ChainStatus status in element.ChainElementStatus)
            {
                flags |= status.Status;
            }
        }

        foreach (X509ChainStatus status in chain.ChainStatus)
        {
            flags |= status.Status;
        }

        string what = TlsCredentials.Describe(certificate);
        if ((flags & X509ChainStatusFlags.NotTimeValid) != 0)
        {
            return now < certificate.NotBefore.ToUniversalTime()
                ? $"is not valid yet: {what}"
                : now > certificate.NotAfter.ToUniversalTime() ? $"has expired: {what}" : $"is issued by a CA certificate that has expired or is not valid yet: {what}";
        }

        if ((flags & (X509ChainStatusFlags.UntrustedRoot | X509ChainStatusFlags.PartialChain)) != 0)
        {
            return $"is not issued by the CA in {TlsCredentials.CaCertFile}: {what}";
        }

        if ((flags & X509ChainStatusFlags.NotValidForUsage) != 0)
        {
            string role = ekuOid == TlsCredentials.ServerAuthOid ? "server" : "client";
            return $"does not allow TLS {role} authentication (its extended key usage lacks {role}Auth): {what}";
        }

        if ((flags & X509ChainStatusFlags.NotSignatureValid) != 0)
        {
            return $"has a signature that does not verify against the CA in {TlsCredentials.CaCertFile}: {what}";
        }

        return $"does not verify against the CA in {TlsCredentials.CaCertFile} ({flags}): {what}";
    }

    /// <summary>Null if a server's certificate carries <paramref name="hostname"/> (subject alternative name DNS or IP, else its CN).</summary>
    public static string? NameFault(X509Certificate2 certificate, string hostname)
    {
        if (certificate.MatchesHostname(hostname, allowWildcards: true, allowCommonName: true))
        {
            return null;
        }

        return $"is for another name than '{hostname}' ({Names(certificate)}): {TlsCredentials.Describe(certificate)}";
    }

    /// <summary>Null if <paramref name="certificate"/>'s subject is one of <paramref name="subjects"/>.</summary>
    public static string? AuthzFault(X509Certificate2 certificate, IReadOnlyList<string> subjects)
    {
        string subject = Normalize(certificate.SubjectName);
        foreach (string allowed in subjects)
        {
            if (string.Equals(NormalizeSubject(allowed), subject, StringComparison.OrdinalIgnoreCase))
            {
                return null;
            }
        }

        return $"has the subject '{subject}', which is not in tls-authz ('{string.Join("'; '", subjects)}')";
    }

    /// <summary>A distinguished name in one spelling (RFC 4514 order, ", " between parts); throws for one that does not parse.</summary>
    public static string NormalizeSubject(string name)
    {
        try
        {
            return Normalize(new X500DistinguishedName(name));
        }
        catch (CryptographicException e)
        {
            throw new EngineParameterException("tls-authz", $"tls-authz '{name}' is not a distinguished name (e.g. CN=client,O=Example): {e.Message}");
        }
    }

    private static string Normalize(X500DistinguishedName name) => name.Decode(X500DistinguishedNameFlags.Reversed | X500DistinguishedNameFlags.UseCommas);

    private static string Names(X509Certificate2 certificate)
    {
        var names = new List<string>();
        foreach (X509Extension extension in certificate.Extensions)
        {
            if (extension is X509SubjectAlternativeNameExtension san)
            {
                names.AddRange(san.EnumerateDnsNames().Select(n => "DNS:" + n));
                names.AddRange(san.EnumerateIPAddresses().Select(a => "IP:" + a));
            }
        }

        return names.Count > 0 ? "it names " + string.Join(", ", names) : $"it has no subject alternative names; subject '{certificate.Subject}'";
    }
}
