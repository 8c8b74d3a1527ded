using ZstdNet;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Compresses each page into one complete, independent zstd frame (with its content size, at most 4174 bytes) through
/// ZstdNet's <see cref="Compressor"/> on the libzstd it bundles. One compression context per instance, created once and
/// reused for every page; the span overload it calls allocates nothing.
/// </summary>
/// <remarks>
/// ZstdNet's <see cref="CompressionOptions"/> accepts any level from <c>ZSTD_minCLevel()</c> (-131072 in libzstd 1.5) to
/// <c>ZSTD_maxCLevel()</c> (22) and hands it to <c>ZSTD_compressCCtx</c> unchanged, so the negative fast levels Engine accepts
/// (down to <see cref="CompressionSettings.ZstdMinLevel"/>) need no advanced parameters.
/// </remarks>
internal sealed class ZstdPageCompressor : PageCompressor
{
    private readonly CompressionOptions _options;
    private readonly Compressor _compressor;
    private bool _disposed;

    /// <summary>Creates a compressor at <paramref name="level"/> (1 to 22, or -1 to -100); throws <see cref="EngineParameterException"/> otherwise.</summary>
    public ZstdPageCompressor(int level)
        : base(CompressMethod.Zstd, level)
    {
        NativeLibraries.EnsureZstd();
        _options = new CompressionOptions(level);
        _compressor = new Compressor(_options);
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _compressor.Dispose();
        _options.Dispose();
    }

    /// <inheritdoc />
    protected override int CompressPage(ReadOnlySpan<byte> page, Span<byte> destination)
    {
        // ZstdNet frees its context on Dispose and would then pass a null context to libzstd.
        ObjectDisposedException.ThrowIf(_disposed, this);

        // With ZSTD_compressBound(4096) bytes of room libzstd cannot fail for lack of space, so Wrap does not throw here.
        return _compressor.Wrap(page, destination);
    }
}
