using static Engine.Interop.Zlib;

using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Compresses each page into one complete zlib stream (2-byte header, deflate data, Adler-32) with the system's native zlib,
/// exactly as QEMU 7.2's compress threads do: <c>deflateInit(level)</c> once, then per page <c>deflateReset</c> and one
/// <c>deflate(Z_FINISH)</c> into at least <c>compressBound(4096)</c> = 4110 bytes. Nothing is allocated per page.
/// </summary>
internal sealed class ZlibPageCompressor : PageCompressor
{
    private readonly ZlibStreamHandle _stream;

    /// <summary>Creates a compressor at <paramref name="level"/> (0 to 9, 0 = stored); throws <see cref="EngineParameterException"/> otherwise.</summary>
    public ZlibPageCompressor(int level)
        : base(CompressMethod.Zlib, level)
    {
        NativeLibraries.EnsureZlib();
        _stream = ZlibStreamHandle.CreateDeflate(level);
    }

    /// <inheritdoc />
    public override void Dispose() => _stream.Dispose();

    /// <inheritdoc />
    protected override int CompressPage(ReadOnlySpan<byte> page, Span<byte> destination)
    {
        int rc = _stream.ResetAndFinish(page, destination, out _, out uint roomLeft);

        // compressBound(4096) bytes of room always suffice for one Z_FINISH call; anything else is a broken zlib.
        if (rc != Z_STREAM_END)
        {
            throw new InvalidOperationException(
                $"zlib deflate(Z_FINISH) returned {rc} for a 4096-byte page with {PageSizes.ZlibBound} bytes of output room; the loaded zlib misbehaves.");
        }

        return destination.Length - (int)roomLeft;
    }
}
