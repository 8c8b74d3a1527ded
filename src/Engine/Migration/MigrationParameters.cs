using System.Globalization;
using Engine.Codecs;
using Engine.Multifd;
using Engine.Transport;

namespace Engine.Migration;

/// <summary>
/// The parameters of a migration, named as QEMU names them (<c>migrate-set-parameters</c>), with QEMU's defaults. Every
/// setter validates: a bad value throws <see cref="EngineParameterException"/> naming the parameter, the value and what is
/// accepted, before anything starts.
/// </summary>
/// <remarks>
/// <para>
/// <c>max-bandwidth</c> is in bytes per second, as in QMP. As text (<see cref="ParseBandwidth"/>) it takes a number with an
/// optional unit: <c>K</c>, <c>M</c>, <c>G</c>, <c>T</c> are powers of 1024 as in QEMU's size parser (<c>100M</c> = 100 MiB/s,
/// an optional trailing <c>B</c> or <c>iB</c> is allowed), and <c>Kbit</c>, <c>Mbit</c>, <c>Gbit</c> are powers of 1000
/// bits as networks count them (<c>100Mbit</c> = 12 500 000 bytes/s). A plain number is bytes per second (unlike HMP,
/// which reads a plain number as MiB/s). <c>0</c> or <c>unlimited</c> means no limit, as a rate limit of 0 means in QEMU's
/// QEMUFile.
/// </para>
/// </remarks>
public sealed class MigrationParameters
{
    /// <summary>QEMU's default <c>max-bandwidth</c>: 128 MiB/s (<c>MAX_THROTTLE</c>).</summary>
    public const long DefaultMaxBandwidth = 128L << 20;

    /// <summary>QEMU's largest <c>downtime-limit</c>, in ms (<c>MAX_MIGRATE_DOWNTIME</c>).</summary>
    public const long MaxDowntimeLimit = 2_000_000;

    /// <summary>Largest thread count QEMU accepts (the parameters are uint8).</summary>
    public const int MaxThreads = ThreadCounts.Max;

    private CompressionSettings _compression = CompressionSettings.Default;
    private int _compressThreads = ThreadCounts.DefaultCompress;
    private int _decompressThreads = ThreadCounts.DefaultDecompress;
    private long _maxBandwidth = DefaultMaxBandwidth;
    private long _downtimeLimit = 300;
    private int _cpuThrottleInitial = 20;
    private int _cpuThrottleIncrement = 10;
    private int _maxCpuThrottle = 99;
    private int _throttleTriggerThreshold = 50;
    private int _multifdChannels = ThreadCounts.DefaultMultifdChannels;
    private CompressMethod _multifdCompression = CompressMethod.None;
    private int _multifdZlibLevel = 1;
    private int _multifdZstdLevel = 1;
    private string? _tlsCreds;
    private string? _tlsHostname;
    private string? _tlsAuthz;

    /// <summary><c>compress-method</c> and <c>compress-level</c>, validated together. Default zlib, level 1.</summary>
    public CompressionSettings Compression
    {
        get => _compression;
        set => _compression = CompressionSettings.Create(value.Method, value.Level); // re-checked: default(T) is not valid for zstd
    }

    /// <summary><c>compress-threads</c>: 1 to 255, default 8.</summary>
    public int CompressThreads
    {
        get => _compressThreads;
        set => _compressThreads = ThreadCounts.Check("compress-threads", value);
    }

    /// <summary><c>decompress-threads</c>: 1 to 255, default 2.</summary>
    public int DecompressThreads
    {
        get => _decompressThreads;
        set => _decompressThreads = ThreadCounts.Check("decompress-threads", value);
    }

    /// <summary>
    /// <c>compress-wait-thread</c>, default true. False: when every compress worker is busy, the page goes out uncompressed
    /// and counts in "compression busy".
    /// </summary>
    public bool CompressWaitThread { get; set; } = true;

    /// <summary><c>max-bandwidth</c> in bytes per second; 0 = unlimited. Default 128 MiB/s.</summary>
    public long MaxBandwidth
    {
        get => _maxBandwidth;
        set
        {
            if (value < 0)
            {
                throw new EngineParameterException("max-bandwidth", $"max-bandwidth {value} is out of range: accepted 0 (unlimited) or more bytes per second");
            }

            _maxBandwidth = value;
        }
    }

    /// <summary><c>downtime-limit</c> in ms: 0 to 2 000 000, default 300.</summary>
    public long DowntimeLimit
    {
        get => _downtimeLimit;
        set => _downtimeLimit = CheckRange("downtime-limit", value, 0, MaxDowntimeLimit);
    }

    /// <summary>Capability <c>auto-converge</c>: throttle the guest when it dirties memory faster than it is sent. Default off.</summary>
    public bool AutoConverge { get; set; }

    /// <summary><c>cpu-throttle-initial</c>, percent: 1 to 99, default 20.</summary>
    public int CpuThrottleInitial
    {
        get => _cpuThrottleInitial;
        set => _cpuThrottleInitial = CheckRange("cpu-throttle-initial", value, 1, 99);
    }

    /// <summary><c>cpu-throttle-increment</c>, percent: 1 to 99, default 10.</summary>
    public int CpuThrottleIncrement
    {
        get => _cpuThrottleIncrement;
        set => _cpuThrottleIncrement = CheckRange("cpu-throttle-increment", value, 1, 99);
    }

    /// <summary><c>max-cpu-throttle</c>, percent: 1 to 99, default 99.</summary>
    public int MaxCpuThrottle
    {
        get => _maxCpuThrottle;
        set => _maxCpuThrottle = CheckRange("max-cpu-throttle", value, 1, 99);
    }

    /// <summary>
    /// <c>throttle-trigger-threshold</c>, percent: 1 to 100, default 50. Auto-converge throttles when the bytes dirtied in a
    /// period exceed this share of the bytes sent in it.
    /// </summary>
    public int ThrottleTriggerThreshold
    {
        get => _throttleTriggerThreshold;
        set => _throttleTriggerThreshold = CheckRange("throttle-trigger-threshold", value, 1, 100);
    }

    /// <summary>
    /// <c>multifd-channels</c>: the connections (and threads on each end) of a multifd migration
    /// (<see cref="MultifdSource"/>, <see cref="MultifdDestination"/>); 1 to 255, default 2.
    /// </summary>
    public int MultifdChannels
    {
        get => _multifdChannels;
        set => _multifdChannels = ThreadCounts.Check("multifd-channels", value);
    }

    /// <summary><c>multifd-compression</c>: none (default), zlib or zstd; the method of a multifd migration's packets.</summary>
    public CompressMethod MultifdCompression
    {
        get => _multifdCompression;
        set => _multifdCompression = value is CompressMethod.None or CompressMethod.Zlib or CompressMethod.Zstd ? value
            : throw new EngineParameterException("multifd-compression", string.Create(CultureInfo.InvariantCulture, $"multifd-compression {(int)value} is not accepted: none, zlib or zstd"));
    }

    /// <summary><c>multifd-zlib-level</c>: 0 to 9, default 1.</summary>
    public int MultifdZlibLevel
    {
        get => _multifdZlibLevel;
        set => _multifdZlibLevel = CheckRange("multifd-zlib-level", value, 0, MaxMultifdZlibLevel);
    }

    /// <summary><c>multifd-zstd-level</c>: 0 to 20 (0 = libzstd's default, 3), default 1.</summary>
    public int MultifdZstdLevel
    {
        get => _multifdZstdLevel;
        set => _multifdZstdLevel = CheckRange("multifd-zstd-level", value, 0, MaxMultifdZstdLevel);
    }

    /// <summary>
    /// <c>tls-creds</c>: the directory of this end's X.509 files (<c>ca-cert.pem</c>, and <c>server-cert.pem</c>/<c>server-key.pem</c>
    /// or <c>client-cert.pem</c>/<c>client-key.pem</c>), as QEMU's <c>tls-creds-x509</c> object; null or empty (the default):
    /// no TLS. The files are read by <see cref="CreateClientTls"/>/<see cref="CreateServerTls"/>, not here.
    /// </summary>
    public string? TlsCreds
    {
        get => _tlsCreds;
        set => _tlsCreds = string.IsNullOrEmpty(value) ? null
            : !string.IsNullOrWhiteSpace(value) && !value.Contains('\0', StringComparison.Ordinal) ? value
            : throw new EngineParameterException("tls-creds", $"tls-creds '{value}' is not a directory name");
    }

    /// <summary>
    /// <c>tls-hostname</c>: the name the destination's certificate must carry (a DNS name or an IP address); null or empty
    /// (the default): the host connected to. Only a connecting end uses it.
    /// </summary>
    public string? TlsHostname
    {
        get => _tlsHostname;
        set => _tlsHostname = string.IsNullOrEmpty(value) ? null
            : Uri.CheckHostName(value) != UriHostNameType.Unknown ? value
            : throw new EngineParameterException("tls-hostname", $"tls-hostname '{value}' is not a DNS name or an IP address");
    }

    /// <summary>
    /// <c>tls-authz</c>: the client certificate subjects a listening end accepts, distinguished names separated by <c>;</c>
    /// (<c>CN=client,O=Example;CN=other</c>); null or empty (the default): any certificate the CA signed.
    /// </summary>
    public string? TlsAuthz
    {
        get => _tlsAuthz;
        set
        {
            if (!string.IsNullOrEmpty(value))
            {
                TlsOptions.ParseAuthorizedSubjects(value); // throws naming tls-authz and the bad subject
            }

            _tlsAuthz = string.IsNullOrEmpty(value) ? null : value;
        }
    }

    /// <summary>The highest <c>multifd-zlib-level</c>: 9.</summary>
    public const int MaxMultifdZlibLevel = 9;

    /// <summary>The highest <c>multifd-zstd-level</c> QEMU accepts: 20.</summary>
    public const int MaxMultifdZstdLevel = 20;

    /// <summary>The level of <see cref="MultifdCompression"/> (0 for none).</summary>
    internal int MultifdLevel => _multifdCompression switch
    {
        CompressMethod.Zlib => _multifdZlibLevel,
        CompressMethod.Zstd => _multifdZstdLevel,
        _ => 0,
    };

    /// <summary>
    /// The connecting end's TLS from <c>tls-creds</c> and <c>tls-hostname</c>, its client credentials loaded and checked
    /// now; null when <c>tls-creds</c> is not set. The caller disposes <see cref="TlsOptions.Credentials"/>.
    /// </summary>
    /// <param name="handshakeTimeout">The longest a handshake may take; default <see cref="TlsOptions.HandshakeTimeout"/>'s.</param>
    /// <exception cref="EngineParameterException"><c>tls-hostname</c> is set without <c>tls-creds</c>.</exception>
    public TlsOptions? CreateClientTls(TimeSpan? handshakeTimeout = null)
    {
        if (_tlsCreds is null)
        {
            RefuseWithoutCreds("tls-hostname", _tlsHostname);
            return null;
        }

        var tls = new TlsOptions { Credentials = TlsCredentials.LoadClient(_tlsCreds), Hostname = _tlsHostname };
        return handshakeTimeout is { } timeout ? tls with { HandshakeTimeout = timeout } : tls;
    }

    /// <summary>
    /// The listening end's TLS from <c>tls-creds</c> and <c>tls-authz</c>, its server credentials loaded and checked now;
    /// null when <c>tls-creds</c> is not set. The caller disposes <see cref="TlsOptions.Credentials"/>.
    /// </summary>
    /// <param name="handshakeTimeout">The longest a handshake may take; default <see cref="TlsOptions.HandshakeTimeout"/>'s.</param>
    /// <exception cref="EngineParameterException"><c>tls-authz</c> is set without <c>tls-creds</c>.</exception>
    public TlsOptions? CreateServerTls(TimeSpan? handshakeTimeout = null)
    {
        if (_tlsCreds is null)
        {
            RefuseWithoutCreds("tls-authz", _tlsAuthz);
            return null;
        }

        var tls = new TlsOptions
        {
            Credentials = TlsCredentials.LoadServer(_tlsCreds),
            AuthorizedSubjects = _tlsAuthz is null ? null : TlsOptions.ParseAuthorizedSubjects(_tlsAuthz),
        };
        return handshakeTimeout is { } timeout ? tls with { HandshakeTimeout = timeout } : tls;
    }

    /// <summary>The QEMU names this class knows, in <c>info migrate_parameters</c> order.</summary>
    public static IReadOnlyList<string> Names { get; } =
    [
        "compress-method", "compress-level", "compress-threads", "decompress-threads", "compress-wait-thread",
        "max-bandwidth", "downtime-limit", "auto-converge", "cpu-throttle-initial", "cpu-throttle-increment",
        "max-cpu-throttle", "throttle-trigger-threshold", "multifd-channels", "multifd-compression", "multifd-zlib-level",
        "multifd-zstd-level", "tls-creds", "tls-hostname", "tls-authz",
    ];

    /// <summary>A copy that can be changed without changing this one.</summary>
    public MigrationParameters Clone() => (MigrationParameters)MemberwiseClone();

    /// <summary>
    /// Sets one parameter from text, by its QEMU name (<c>migrate_set_parameter compress-threads 4</c>). A method and a level
    /// are checked together: setting <c>compress-method zstd</c> keeps the level if zstd accepts it; setting a level checks it
    /// against the current method.
    /// </summary>
    public void Set(string name, string value)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(value);
        switch (name)
        {
            case "compress-method":
                Compression = CompressionSettings.Create(CompressionSettings.ParseMethod(value), Compression.Method == CompressMethod.None ? CompressionSettings.DefaultLevel : Compression.Level);
                break;
            case "compress-level":
                Compression = CompressionSettings.Create(Compression.Method, ParseInt(name, value));
                break;
            case "compress-threads":
                CompressThreads = ParseInt(name, value);
                break;
            case "decompress-threads":
                DecompressThreads = ParseInt(name, value);
                break;
            case "compress-wait-thread":
                CompressWaitThread = ParseBool(name, value);
                break;
            case "max-bandwidth":
                MaxBandwidth = ParseBandwidth(value);
                break;
            case "downtime-limit":
                DowntimeLimit = ParseLong(name, value);
                break;
            case "auto-converge":
                AutoConverge = ParseBool(name, value);
                break;
            case "cpu-throttle-initial":
                CpuThrottleInitial = ParseInt(name, value);
                break;
            case "cpu-throttle-increment":
                CpuThrottleIncrement = ParseInt(name, value);
                break;
            case "max-cpu-throttle":
                MaxCpuThrottle = ParseInt(name, value);
                break;
            case "throttle-trigger-threshold":
                ThrottleTriggerThreshold = ParseInt(name, value);
                break;
            case "multifd-channels":
                MultifdChannels = ParseInt(name, value);
                break;
            case "multifd-compression":
                MultifdCompression = ParseMultifdCompression(value);
                break;
            case "multifd-zlib-level":
                MultifdZlibLevel = ParseInt(name, value);
                break;
            case "multifd-zstd-level":
                MultifdZstdLevel = ParseInt(name, value);
                break;
            case "tls-creds":
                TlsCreds = value;
                break;
            case "tls-hostname":
                TlsHostname = value.Trim();
                break;
            case "tls-authz":
                TlsAuthz = value.Trim();
                break;
            default:
                throw new EngineParameterException(name, $"parameter '{name}' is unknown; known parameters are: {string.Join(", ", Names)}");
        }
    }

    /// <summary>The value of every parameter as text, like <c>info migrate_parameters</c>.</summary>
    public IReadOnlyList<KeyValuePair<string, string>> Describe() =>
    [
        new("compress-method", CompressionSettings.NameOf(Compression.Method)),
        new("compress-level", Compression.Level.ToString(CultureInfo.InvariantCulture)),
        new("compress-threads", CompressThreads.ToString(CultureInfo.InvariantCulture)),
        new("decompress-threads", DecompressThreads.ToString(CultureInfo.InvariantCulture)),
        new("compress-wait-thread", CompressWaitThread ? "on" : "off"),
        new("max-bandwidth", MaxBandwidth == 0 ? "unlimited" : $"{MaxBandwidth.ToString(CultureInfo.InvariantCulture)} bytes/second"),
        new("downtime-limit", $"{DowntimeLimit.ToString(CultureInfo.InvariantCulture)} ms"),
        new("auto-converge", AutoConverge ? "on" : "off"),
        new("cpu-throttle-initial", CpuThrottleInitial.ToString(CultureInfo.InvariantCulture)),
        new("cpu-throttle-increment", CpuThrottleIncrement.ToString(CultureInfo.InvariantCulture)),
        new("max-cpu-throttle", MaxCpuThrottle.ToString(CultureInfo.InvariantCulture)),
        new("throttle-trigger-threshold", ThrottleTriggerThreshold.ToString(CultureInfo.InvariantCulture)),
        new("multifd-channels", MultifdChannels.ToString(CultureInfo.InvariantCulture)),
        new("multifd-compression", CompressionSettings.NameOf(MultifdCompression)),
        new("multifd-zlib-level", MultifdZlibLevel.ToString(CultureInfo.InvariantCulture)),
        new("multifd-zstd-level", MultifdZstdLevel.ToString(CultureInfo.InvariantCulture)),
        new("tls-creds", TlsCreds ?? string.Empty),
        new("tls-hostname", TlsHostname ?? string.Empty),
        new("tls-authz", TlsAuthz ?? string.Empty),
    ];

    /// <summary>Parses <c>multifd-compression</c>'s value: none, zlib or zstd.</summary>
    public static CompressMethod ParseMultifdCompression(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return text.Trim().ToLowerInvariant() switch
        {
            "none" => CompressMethod.None,
            "zlib" => CompressMethod.Zlib,
            "zstd" => CompressMethod.Zstd,
            _ => throw new EngineParameterException("multifd-compression", $"multifd-compression '{text}' is not accepted: none, zlib or zstd"),
        };
    }

    /// <summary>
    /// Parses a bandwidth in bytes per second: <c>0</c>/<c>unlimited</c>, a plain number of bytes, <c>K</c>/<c>M</c>/<c>G</c>/<c>T</c>
    /// (1024-based, optional <c>B</c>/<c>iB</c>) or <c>Kbit</c>/<c>Mbit</c>/<c>Gbit</c> (1000-based bits). Fractions are allowed
    /// with a unit (<c>1.5G</c>).
    /// </summary>
    public static long ParseBandwidth(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string s = text.Trim();
        if (s.Equals("unlimited", StringComparison.OrdinalIgnoreCase))
        {
            return 0;
        }

        int split = 0;
        while (split < s.Length && (char.IsAsciiDigit(s[split]) || s[split] == '.'))
        {
            split++;
        }

        string number = s[..split];
        string unit = s[split..].Trim();
        if (number.Length == 0 || !decimal.TryParse(number, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            throw BadBandwidth(text);
        }

        decimal multiplier;
        switch (unit.ToUpperInvariant())
        {
            case "":
            case "B":
                multiplier = 1;
                break;
            case "K":
            case "KB":
            case "KIB":
                multiplier = 1L << 10;
                break;
            case "M":
            case "MB":
            case "MIB":
                multiplier = 1L << 20;
                break;
            case "G":
            case "GB":
            case "GIB":
                multiplier = 1L << 30;
                break;
            case "T":
            case "TB":
            case "TIB":
                multiplier = 1L << 40;
                break;
            case "KBIT":
                multiplier = 1_000m / 8;
                break;
            case "MBIT":
                multiplier = 1_000_000m / 8;
                break;
            case "GBIT":
                multiplier = 1_000_000_000m / 8;
                break;
            default:
                throw BadBandwidth(text);
        }

        if (unit.Length == 0 && number.Contains('.', StringComparison.Ordinal))
        {
            throw BadBandwidth(text); // a fraction of a byte per second means a missing unit
        }

        decimal bytes = Math.Round(value * multiplier);
        if (bytes > long.MaxValue)
        {
            throw BadBandwidth(text);
        }

        return (long)bytes;
    }

    private static EngineParameterException BadBandwidth(string text)
        => new("max-bandwidth", $"max-bandwidth '{text}' is not a bandwidth: accepted 0 or 'unlimited', bytes per second, or a number with K, M, G, T (1024-based bytes) or Kbit, Mbit, Gbit (1000-based bits), e.g. 100M, 1G, 100Mbit");

    private static void RefuseWithoutCreds(string parameter, string? value)
    {
        if (value is not null)
        {
            throw new EngineParameterException(parameter, $"{parameter} needs tls-creds");
        }
    }

    private static int CheckRange(string name, int value, int min, int max)
    {
        if (value < min || value > max)
        {
            throw new EngineParameterException(name, $"{name} {value} is out of range: accepted {min} to {max}");
        }

        return value;
    }

    private static long CheckRange(string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            throw new EngineParameterException(name, $"{name} {value} is out of range: accepted {min} to {max}");
        }

        return value;
    }

    private static int ParseInt(string name, string value)
    {
        if (!int.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out int result))
        {
            throw new EngineParameterException(name, $"{name} '{value}' is not an integer");
        }

        return result;
    }

    private static long ParseLong(string name, string value)
    {
        if (!long.TryParse(value.Trim(), NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long result))
        {
            throw new EngineParameterException(name, $"{name} '{value}' is not an integer");
        }

        return result;
    }

    private static bool ParseBool(string name, string value)
    {
        switch (value.Trim().ToLowerInvariant())
        {
            case "on":
            case "true":
            case "yes":
            case "1":
                return true;
            case "off":
            case "false":
            case "no":
            case "0":
                return false;
            default:
                throw new EngineParameterException(name, $"{name} '{value}' is not a boolean: accepted on/off, true/false");
        }
    }
}
