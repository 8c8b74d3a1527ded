namespace Engine.Codecs;

/// <summary>
/// A compression method and level, validated together (QEMU's <c>compress-method</c> and <c>compress-level</c>).
/// </summary>
public readonly record struct CompressionSettings
{
    /// <summary>zlib's lowest level: 0, a stored (uncompressed) deflate stream.</summary>
    public const int ZlibMinLevel = 0;

    /// <summary>zlib's highest level.</summary>
    public const int ZlibMaxLevel = 9;

    /// <summary>zstd's highest level (libzstd's <c>ZSTD_maxCLevel()</c>).</summary>
    public const int ZstdMaxLevel = 22;

    /// <summary>
    /// The lowest zstd fast level Engine accepts (zstd's <c>--fast=100</c>). libzstd goes lower still, but past
    /// -100 a 4 KiB page barely compresses at all; level 0 is rejected because libzstd reads it as "default (3)".
    /// </summary>
    public const int ZstdMinLevel = -100;

    /// <summary>The default level: 1, as QEMU's <c>compress-level</c>.</summary>
    public const int DefaultLevel = 1;

    private CompressionSettings(CompressMethod method, int level)
    {
        Method = method;
        Level = level;
    }

    /// <summary>The method.</summary>
    public CompressMethod Method { get; }

    /// <summary>The level, valid for <see cref="Method"/> (0 for <see cref="CompressMethod.None"/>).</summary>
    public int Level { get; }

    /// <summary>QEMU's defaults: zlib, level 1.</summary>
    public static CompressionSettings Default => new(CompressMethod.Zlib, DefaultLevel);

    /// <summary>Settings for a method and level; throws <see cref="EngineParameterException"/> if they do not go together.</summary>
    public static CompressionSettings Create(CompressMethod method, int level)
    {
        if (!TryValidate(method, level, out string? error))
        {
            throw new EngineParameterException("compress-level", error);
        }

        return new CompressionSettings(method, method == CompressMethod.None ? 0 : level);
    }

    /// <summary>Parses a method name and a level, as given on a command line.</summary>
    public static CompressionSettings Parse(string method, int level) => Create(ParseMethod(method), level);

    /// <summary>Parses <c>none</c>, <c>zlib</c> or <c>zstd</c> (case-insensitive).</summary>
    public static CompressMethod ParseMethod(string method)
    {
        switch (method.Trim().ToLowerInvariant())
        {
            case "none":
                return CompressMethod.None;
            case "zlib":
                return CompressMethod.Zlib;
            case "zstd":
                return CompressMethod.Zstd;
            default:
                throw new EngineParameterException(
                    "compress-method",
                    $"compress-method '{method}' is unknown; known methods are: none, zlib, zstd");
        }
    }

    /// <summary>The method's name as QEMU spells it.</summary>
    public static string NameOf(CompressMethod method) => method switch
    {
        CompressMethod.None => "none",
        CompressMethod.Zlib => "zlib",
        CompressMethod.Zstd => "zstd",
        _ => throw new ArgumentOutOfRangeException(nameof(method), method, "unknown compress-method"),
    };

    /// <summary>Checks a method and level together; <paramref name="error"/> names the method, the level and the accepted range.</summary>
    public static bool TryValidate(CompressMethod method, int level, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        switch (method)
        {
            case CompressMethod.None:
                error = null;
                return true;
            case CompressMethod.Zlib:
                if (level is < ZlibMinLevel or > ZlibMaxLevel)
                {
                    error = $"compress-level {level} is out of range for compress-method zlib: accepted {ZlibMinLevel} to {ZlibMaxLevel} (0 = stored)";
                    return false;
                }

                error = null;
                return true;
            case CompressMethod.Zstd:
                if (level == 0 || level < ZstdMinLevel || level > ZstdMaxLevel)
                {
                    error = $"compress-level {level} is out of range for compress-method zstd: accepted 1 to {ZstdMaxLevel}, or fast levels -1 to {ZstdMinLevel} (0 is not a level)";
                    return false;
                }

                error = null;
                return true;
            default:
                error = $"compress-method {(int)method} is unknown; known methods are: none, zlib, zstd";
                return false;
        }
    }

    /// <inheritdoc />
    public override string ToString() => Method == CompressMethod.None ? "none" : $"{NameOf(Method)}-{Level}";
}
