using static Engine.Interop.Zlib;

using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Compresses each page into one complete zlib stream (2-byte header, deflate data, Adler-32) with the system's native zlib,
/// exactly as QEMU 7.2's compress threads do: <c>deflateInit(level)</c> once, then per page <c>deflateReset</c> and one
/// <c>deflate(Z_FINISH)</c> into at least <c>compressBound(4096)</c> = 4110 bytes. Nothing is allocated per page.
/// </summary>
internal sealed unsafe class ZlibPageCompressor : IPageCompressor
{
    private readonly ZlibStreamHandle _stream;

    /// <summary>Creates a compressor at <paramref name="level"/> (0 to 9, 0 = stored); throws <see cref="EngineParameterException"/> otherwise.</summary>
    public ZlibPageCompressor(int level)
    {
        _ = CompressionSettings.Create(CompressMethod.Zlib, level);
        NativeLibraries.EnsureZlib();
        _stream = ZlibStreamHandle.CreateDeflate(level);
        Level = level;
    }

    /// <inheritdoc />
    public CompressMethod Method => CompressMethod.Zlib;

    /// <inheritdoc />
    public int Level { get; }

    /// <inheritdoc />
    public int MaxCompressedLength => PageSizes.ZlibBound;

    /// <inheritdoc />
    public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
    {
        PageArguments.ThrowIfNotPage(page);
        written = 0;
        if (destination.Length < PageSizes.ZlibBound)
        {
            return CompressResult.DestinationTooSmall;
        }

        int rc;
        int length;
        bool referenced = false;

        // Holds the handle open across the native calls (and throws ObjectDisposedException once disposed).
        _stream.DangerousAddRef(ref referenced);
        try
        {
            Interop.ZStream* stream = _stream.Stream;
            rc = Interop.deflateReset(stream);
            if (rc != Z_OK)
            {
                throw Failure("deflateReset", rc);
            }

            fixed (byte* source = page)
            fixed (byte* target = destination)
            {
                stream->next_in = source;
                stream->avail_in = PageSizes.PageSize;
                stream->next_out = target;
                stream->avail_out = PageSizes.ZlibBound;
                rc = Interop.deflate(stream, Z_FINISH);
                length = (int)(stream->next_out - target);

                // Do not leave zlib pointing into buffers that are unpinned from here on.
                stream->next_in = null;
                stream->next_out = null;
                stream->avail_in = 0;
                stream->avail_out = 0;
            }
        }
        finally
        {
            if (referenced)
            {
                _stream.DangerousRelease();
            }
        }

        // compressBound(4096) bytes of room always suffice for one Z_FINISH call; anything else is a broken zlib.
        if (rc != Z_STREAM_END)
        {
            throw Failure("deflate(Z_FINISH)", rc);
        }

        if (length >= PageSizes.PageSize)
        {
            return CompressResult.SendRaw;
        }

        written = length;
        return CompressResult.Compressed;
    }

    /// <inheritdoc />
    public void Dispose() => _stream.Dispose();

    private static InvalidOperationException Failure(string function, int rc)
        => new($"zlib {function} returned {rc} for a 4096-byte page with {PageSizes.ZlibBound} bytes of output room; the loaded zlib misbehaves.");
}
