using Engine.Codecs;

namespace Engine.Tests.Codecs;

/// <summary>The codecs the contract suite runs: each zlib and zstd implementation, and the auto-detecting decoder.</summary>
public static class CodecAdapters
{
    private static readonly int[] s_zlibLevels = Enumerable.Range(CompressionSettings.ZlibMinLevel, CompressionSettings.ZlibMaxLevel + 1).ToArray();

    private static readonly int[] s_zstdLevels =
    [
        .. Enumerable.Range(1, CompressionSettings.ZstdMaxLevel),
        .. Enumerable.Range(1, -CompressionSettings.ZstdMinLevel).Select(level => -level),
    ];

    private static readonly int[] s_zlibInvalidLevels = [-1, 10, 11, 22, -100, int.MinValue, int.MaxValue];

    private static readonly int[] s_zstdInvalidLevels = [0, 23, 100, -101, -1000, int.MinValue, int.MaxValue];

    public static CodecAdapter Zstd { get; } = new()
    {
        Name = "zstd (ZstdNet)",
        Method = CompressMethod.Zstd,
        CreateCompressor = level => new ZstdPageCompressor(level),
        CreateDecompressor = () => new ZstdPageDecompressor(),
        ValidLevels = s_zstdLevels,
        InvalidLevels = s_zstdInvalidLevels,
        AllocationFree = true,
    };

    public static CodecAdapter NativeZlib { get; } = new()
    {
        Name = "zlib (native libz.so.1)",
        Method = CompressMethod.Zlib,
        CreateCompressor = level => new ZlibPageCompressor(level),
        CreateDecompressor = () => new ZlibPageDecompressor(),
        ValidLevels = s_zlibLevels,
        InvalidLevels = s_zlibInvalidLevels,
        AllocationFree = true,
        Checksummed = true,
    };

    public static CodecAdapter SharpZipLibZlib { get; } = new()
    {
        Name = "zlib (SharpZipLib)",
        Method = CompressMethod.Zlib,
        CreateCompressor = level => new SharpZipLibPageCompressor(level),
        CreateDecompressor = () => new SharpZipLibPageDecompressor(),
        ValidLevels = s_zlibLevels,
        InvalidLevels = s_zlibInvalidLevels,
        Checksummed = true,
    };

    /// <summary>zstd pages through the strict decoder configured for zstd.</summary>
    public static CodecAdapter StrictDecoderZstd { get; } = new()
    {
        Name = "PageDecoder (zstd, strict)",
        Method = CompressMethod.Zstd,
        CreateCompressor = level => PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zstd, level)),
        CreateDecompressor = () => PageCodecs.CreateDecoder(CompressMethod.Zstd, strict: true),
        ValidLevels = s_zstdLevels,
        InvalidLevels = s_zstdInvalidLevels,
        AllocationFree = true,
    };

    /// <summary>zlib pages through the auto-detecting decoder configured for zstd: it must still decode them.</summary>
    public static CodecAdapter AutoDecoderZlib { get; } = new()
    {
        Name = "PageDecoder (configured zstd, auto-detecting zlib)",
        Method = CompressMethod.Zlib,
        CreateCompressor = level => PageCodecs.CreateCompressor(CompressionSettings.Create(CompressMethod.Zlib, level)),
        CreateDecompressor = () => PageCodecs.CreateDecoder(CompressMethod.Zstd, strict: false),
        ValidLevels = s_zlibLevels,
        InvalidLevels = s_zlibInvalidLevels,
        AllocationFree = true,
        RejectsOtherMethod = false,
        Checksummed = true,
    };
}
