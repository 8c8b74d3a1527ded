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
        ZstdContextHandle result = Adopt(isDecompression: false, Interop.ZSTD_createCCtx(), "ZSTD_createCCtx");
        result.ThrowIfError(Interop.ZSTD_CCtx_setParameter(result.handle, Interop.ZSTD_c_compressionLevel, level), $"ZSTD_CCtx_setParameter(compressionLevel, {level})");
        return result;
    }

    /// <summary>A decompression stream whose frames may use windows up to 2^<paramref name="windowLogMax"/> bytes.</summary>
    public static ZstdContextHandle CreateDecompression(int windowLogMax)
    {
        NativeLibraries.EnsureZstd();
        ZstdContextHandle result = Adopt(isDecompression: true, Interop.ZSTD_createDCtx(), "ZSTD_createDCtx");
        result.ThrowIfError(Interop.ZSTD_DCtx_setParameter(result.handle, Interop.ZSTD_d_windowLogMax, windowLogMax), $"ZSTD_DCtx_setParameter(windowLogMax, {windowLogMax})");
        return result;
    }

    /// <summary>libzstd's name for an error code.</summary>
    public static unsafe string ErrorName(nuint code) => Marshal.PtrToStringAnsi((nint)Interop.ZSTD_getErrorName(code)) ?? $"error {code}";

    /// <summary>A handle that owns <paramref name="context"/>, which <paramref name="create"/> returned (0: it could not allocate).</summary>
    private static ZstdContextHandle Adopt(bool isDecompression, nint context, string create)
    {
        if (context == 0)
        {
            throw new OutOfMemoryException($"{create} could not allocate a {(isDecompression ? "decompression" : "compression")} context.");
        }

        var result = new ZstdContextHandle(isDecompression);
        result.SetHandle(context);
        return result;
    }

    /// <summary>Frees the context and throws when <paramref name="rc"/>, what <paramref name="call"/> returned, is an error code.</summary>
    private void ThrowIfError(nuint rc, string call)
    {
        if (Interop.ZSTD_isError(rc) != 0)
        {
            Dispose();
            throw NativeLibraries.Native($"{call} failed: {ErrorName(rc)}");
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        _ = _isDecompression ? Interop.ZSTD_freeDCtx(handle) : Interop.ZSTD_freeCCtx(handle);
        return true;
    }
}
