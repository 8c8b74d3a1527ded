namespace Engine;

/// <summary>The versions of the native libraries Engine runs on, as <see cref="NativeLibraries.SelfCheck"/> read them.</summary>
/// <param name="Zstd">libzstd's <c>ZSTD_versionString()</c>, e.g. <c>1.5.7</c>.</param>
/// <param name="ZstdNumber">libzstd's <c>ZSTD_versionNumber()</c>: major * 10000 + minor * 100 + patch.</param>
/// <param name="ZstdPath">The libzstd file that was loaded, or its name when the loader found it by name.</param>
/// <param name="Zlib">zlib's <c>zlibVersion()</c>, e.g. <c>1.2.13</c>.</param>
/// <param name="ZlibPath">The zlib file that was loaded, or its name when the loader found it by name.</param>
public sealed record NativeLibraryVersions(string Zstd, uint ZstdNumber, string ZstdPath, string Zlib, string ZlibPath)
{
    /// <inheritdoc />
    public override string ToString() => $"libzstd {Zstd} ({ZstdPath}), zlib {Zlib} ({ZlibPath})";
}
