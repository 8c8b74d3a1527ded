using System.Runtime.InteropServices;

namespace Engine;

/// <summary>
/// Owns one libzstd context used as a stream: a <c>ZSTD_CCtx</c> (a <c>ZSTD_CStream</c> is the same object) or a
/// <c>ZSTD_DCtx</c>, freed exactly once.
/// </summary>
internal sealed class ZstdContextHandle : SafeHandle
{
    private readonly bool _isDecompression;

    private ZstdContextHandle(bool isDecompression)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        _isDecompression = isDecompression;
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>A compression stream at <paramref name="level"/>, as QEMU's <c>ZSTD_initCStream(level)</c>.</summary>
    public static ZstdContextHandle CreateCompression(int level)
    {
        NativeLibraries.EnsureZstd();
        var result = new ZstdContextHandle(isDecompression: false);
        nint context = Interop.ZSTD_createCCtx();
        if (context == 0)
        {
            throw new OutOfMemoryException("ZSTD_createCCtx could not allocate a compression context.");
        }

        result.SetHandle(context);
        nuint rc = Interop.ZSTD_CCtx_setParameter(context, Interop.ZSTD_c_compressionLevel, level);
        if (Interop.ZSTD_isError(rc) != 0)
        {
            result.Dispose();
            throw NativeLibraries.Native($"ZSTD_CCtx_setParameter(compressionLevel, {level}) failed: {ErrorName(rc)}");
        }

        return result;
    }

    /// <summary>A decompression stream whose frames may use windows up to 2^<paramref name="windowLogMax"/> bytes.</summary>
    public static ZstdContextHandle CreateDecompression(int windowLogMax)
    {
        NativeLibraries.EnsureZstd();
        var result = new ZstdContextHandle(isDecompression: true);
        nint context = Interop.ZSTD_createDCtx();
        if (context == 0)
        {
            throw new OutOfMemoryException("ZSTD_createDCtx could not allocate a decompression context.");
        }

        result.SetHandle(context);
        nuint rc = Interop.ZSTD_DCtx_setParameter(context, Interop.ZSTD_d_windowLogMax, windowLogMax);
        if (Interop.ZSTD_isError(rc) != 0)
        {
            result.Dispose();
            throw NativeLibraries.Native($"ZSTD_DCtx_setParameter(windowLogMax, {windowLogMax}) failed: {ErrorName(rc)}");
        }

        return result;
    }

    /// <summary>libzstd's name for an error code.</summary>
    public static unsafe string ErrorName(nuint code) => Marshal.PtrToStringAnsi((nint)Interop.ZSTD_getErrorName(code)) ?? $"error {code}";

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        _ = _isDecompression ? Interop.ZSTD_freeDCtx(handle) : Interop.ZSTD_freeCCtx(handle);
        return true;
    }
}
