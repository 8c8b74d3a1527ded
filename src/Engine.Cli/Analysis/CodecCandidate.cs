using Engine.Codecs;

namespace Engine.Cli.Analysis;

/// <summary>One method, level and zlib implementation to measure.</summary>
internal sealed record CodecCandidate(CompressionSettings Settings, ZlibImplementation Zlib)
{
    /// <summary>A short name: <c>zstd-3</c>, <c>zlib-1</c>, <c>zlib-1 (sharpziplib)</c>, <c>none</c>.</summary>
    public string Name => Settings.Method == CompressMethod.Zlib && Zlib == ZlibImplementation.SharpZipLib
        ? $"{Settings} (sharpziplib)"
        : Settings.ToString();
}
