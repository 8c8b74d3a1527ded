using System.Runtime.InteropServices;

namespace Engine;

/// <summary>
/// Owns one zlib <c>z_stream</c> (a deflate or an inflate stream) in native memory. zlib's internal state points back at the
/// <c>z_stream</c>, so the struct must never move: it is allocated with <see cref="NativeMemory"/>, cache-line aligned so two
/// workers' streams never share a line, and released (<c>deflateEnd</c>/<c>inflateEnd</c>, then freed) exactly once.
/// </summary>
internal sealed unsafe class ZlibStreamHandle : SafeHandle
{
    private const nuint CacheLineSize = 64;

    private readonly bool _isInflate;

    private ZlibStreamHandle(bool isInflate)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        _isInflate = isInflate;
    }

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>
    /// The stream. Valid while the handle is open; callers hold a reference (<see cref="SafeHandle.DangerousAddRef"/>) across
    /// native calls so a concurrent <see cref="SafeHandle.Dispose()"/> or the finalizer cannot free it underneath them.
    /// </summary>
    public Interop.ZStream* Stream => (Interop.ZStream*)handle;

    /// <summary>
    /// One page codec's call: resets the stream (<c>deflateReset</c> or <c>inflateReset</c>), points it at all of
    /// <paramref name="input"/> and <paramref name="output"/>, runs <c>deflate</c> or <c>inflate</c> once with <c>Z_FINISH</c>
    /// and leaves no pointer into the buffers behind. Returns that call's code; <paramref name="inputLeft"/> and
    /// <paramref name="outputLeft"/> are the bytes it did not consume and the room it did not fill. A failing reset (zlib's
    /// state is broken) throws.
    /// </summary>
    public int ResetAndFinish(ReadOnlySpan<byte> input, Span<byte> output, out uint inputLeft, out uint outputLeft)
    {
        int rc;
        bool referenced = false;

        // Holds the handle open across the native calls (and throws ObjectDisposedException once disposed).
        DangerousAddRef(ref referenced);
        try
        {
            Interop.ZStream* stream = Stream;
            rc = _isInflate ? Interop.inflateReset(stream) : Interop.deflateReset(stream);
            if (rc != Interop.Zlib.Z_OK)
            {
                throw NativeLibraries.Native($"zlib {(_isInflate ? "inflateReset" : "deflateReset")} returned {rc}; the loaded zlib misbehaves.");
            }

            fixed (byte* source = input)
            fixed (byte* target = output)
            {
                stream->next_in = source;
                stream->avail_in = (uint)input.Length;
                stream->next_out = target;
                stream->avail_out = (uint)output.Length;

                // Z_FINISH: all input and all output room are here; inflate may then skip keeping a sliding window.
                rc = _isInflate ? Interop.inflate(stream, Interop.Zlib.Z_FINISH) : Interop.deflate(stream, Interop.Zlib.Z_FINISH);
                inputLeft = stream->avail_in;
                outputLeft = stream->avail_out;

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
                DangerousRelease();
            }
        }

        return rc;
    }

    /// <summary>A deflate stream as QEMU's <c>deflateInit(level)</c>: zlib wrapper, window 15, memLevel 8, default strategy.</summary>
    public static ZlibStreamHandle CreateDeflate(int level) => Create(isInflate: false, level);

    /// <summary>An inflate stream as QEMU's <c>inflateInit</c>: zlib wrapper, window up to 15.</summary>
    public static ZlibStreamHandle CreateInflate() => Create(isInflate: true, level: 0);

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        var stream = (Interop.ZStream*)handle;

        // Never read from a stream after End: zlib frees its state here; the z_stream itself is ours to free.
        _ = _isInflate ? Interop.inflateEnd(stream) : Interop.deflateEnd(stream);
        NativeMemory.AlignedFree(stream);
        return true;
    }

    private static ZlibStreamHandle Create(bool isInflate, int level)
    {
        var result = new ZlibStreamHandle(isInflate);
        Interop.ZStream* stream = AllocateStream();
        int rc;
        fixed (byte* version = Interop.ZlibAbiVersion)
        {
            rc = isInflate
                ? Interop.inflateInit2_(stream, Interop.Zlib.MAX_WBITS, version, sizeof(Interop.ZStream))
                : Interop.deflateInit2_(
                    stream,
                    level,
                    Interop.Zlib.Z_DEFLATED,
                    Interop.Zlib.MAX_WBITS,
                    Interop.Zlib.DEF_MEM_LEVEL,
                    Interop.Zlib.Z_DEFAULT_STRATEGY,
                    version,
                    sizeof(Interop.ZStream));
        }

        if (rc != Interop.Zlib.Z_OK)
        {
            NativeMemory.AlignedFree(stream);
            throw InitFailure(isInflate ? "inflateInit2_" : "deflateInit2_", rc);
        }

        result.SetHandle((nint)stream);
        return result;
    }

    private static Interop.ZStream* AllocateStream()
    {
        nuint size = ((nuint)sizeof(Interop.ZStream) + CacheLineSize - 1) & ~(CacheLineSize - 1);
        void* memory = NativeMemory.AlignedAlloc(size, CacheLineSize);

        // zalloc, zfree and opaque must be null (zlib then uses malloc/free) and next_in must be set before init.
        NativeMemory.Clear(memory, size);
        return (Interop.ZStream*)memory;
    }

    private static Exception InitFailure(string function, int rc) => rc switch
    {
        Interop.Zlib.Z_MEM_ERROR => new OutOfMemoryException($"zlib {function} could not allocate its state (Z_MEM_ERROR)."),
        Interop.Zlib.Z_VERSION_ERROR => NativeLibraries.Native(
            $"zlib {function} returned Z_VERSION_ERROR: the loaded zlib is not ABI-compatible with zlib 1.x's z_stream ({sizeof(Interop.ZStream)} bytes)."),
        _ => NativeLibraries.Native($"zlib {function} failed with {rc}."),
    };
}
