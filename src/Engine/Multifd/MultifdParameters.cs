using Engine.Codecs;

namespace Engine.Multifd;

/// <summary>
/// multifd's parameters, with QEMU's names, defaults and ranges: <c>multifd-channels</c> (2, 1–255),
/// <c>multifd-compression</c> (none), <c>multifd-zlib-level</c> (1, 0–9), <c>multifd-zstd-level</c> (1, 0–20), and the
/// <c>-uuid</c> both ends must share (all zero, as QEMU without <c>-uuid</c>). Each setter validates.
/// </summary>
/// <remarks>
/// The levels are QEMU's ranges exactly, so any QEMU configuration can be mirrored. zstd level 0 is libzstd's default level
/// (3), as in QEMU; the negative fast levels the single-stream mode accepts are not offered here because QEMU's parameter
/// cannot express them. Only the source compresses: a destination needs the channels and the method, not the level.
/// </remarks>
public sealed class MultifdParameters
{
    /// <summary>QEMU's default <c>multifd-channels</c>.</summary>
    public const int DefaultChannels = 2;

    /// <summary>The most channels (QEMU: 255; the channel id is one byte).</summary>
    public const int MaxChannels = 255;

    /// <summary>The highest <c>multifd-zstd-level</c> QEMU accepts.</summary>
    public const int MaxZstdLevel = 20;

    private int _channels = DefaultChannels;
    private CompressMethod _compression = CompressMethod.None;
    private int _zlibLevel = 1;
    private int _zstdLevel = 1;
    private byte[] _uuid = new byte[16];

    /// <summary><c>multifd-channels</c>: 1 to 255, default 2.</summary>
    public int Channels
    {
        get => _channels;
        set => _channels = value is >= 1 and <= MaxChannels ? value
            : throw new EngineParameterException("multifd-channels", $"multifd-channels {value} is out of range: accepted 1 to {MaxChannels}");
    }

    /// <summary><c>multifd-compression</c>: none (default), zlib or zstd.</summary>
    public CompressMethod Compression
    {
        get => _compression;
        set => _compression = value is CompressMethod.None or CompressMethod.Zlib or CompressMethod.Zstd ? value
            : throw new EngineParameterException("multifd-compression", $"multifd-compression {value} is not accepted: none, zlib or zstd");
    }

    /// <summary><c>multifd-zlib-level</c>: 0 to 9, default 1.</summary>
    public int ZlibLevel
    {
        get => _zlibLevel;
        set => _zlibLevel = value is >= 0 and <= 9 ? value
            : throw new EngineParameterException("multifd-zlib-level", $"multifd-zlib-level {value} is out of range: accepted 0 to 9");
    }

    /// <summary><c>multifd-zstd-level</c>: 0 to 20 (0 = libzstd's default, 3), default 1.</summary>
    public int ZstdLevel
    {
        get => _zstdLevel;
        set => _zstdLevel = value is >= 0 and <= MaxZstdLevel ? value
            : throw new EngineParameterException("multifd-zstd-level", $"multifd-zstd-level {value} is out of range: accepted 0 to {MaxZstdLevel}");
    }

    /// <summary>The 16-byte UUID both ends carry (QEMU's <c>-uuid</c>); all zero by default.</summary>
    public ReadOnlySpan<byte> Uuid => _uuid;

    /// <summary>The level of the chosen method (0 for none).</summary>
    public int Level => _compression switch
    {
        CompressMethod.Zlib => _zlibLevel,
        CompressMethod.Zstd => _zstdLevel,
        _ => 0,
    };

    /// <summary>Sets the UUID from 16 bytes.</summary>
    public void SetUuid(ReadOnlySpan<byte> uuid)
    {
        if (uuid.Length != 16)
        {
            throw new EngineParameterException("uuid", $"a UUID is 16 bytes, got {uuid.Length}");
        }

        _uuid = uuid.ToArray();
    }

    /// <summary>Parses <c>multifd-compression</c>'s value.</summary>
    public static CompressMethod ParseCompression(string text) => text.Trim().ToLowerInvariant() switch
    {
        "none" => CompressMethod.None,
        "zlib" => CompressMethod.Zlib,
        "zstd" => CompressMethod.Zstd,
        _ => throw new EngineParameterException("multifd-compression", $"multifd-compression '{text}' is not accepted: none, zlib or zstd"),
    };

    /// <summary>A copy.</summary>
    public MultifdParameters Clone()
    {
        var copy = (MultifdParameters)MemberwiseClone();
        copy._uuid = (byte[])_uuid.Clone();
        return copy;
    }

    /// <summary>"zstd-1 x2" and the like, for logs and reports.</summary>
    public override string ToString() => _compression == CompressMethod.None
        ? $"none x{_channels}"
        : $"{MultifdPacketHeader.MethodName(_compression)}-{Level} x{_channels}";
}
