using System.Runtime.InteropServices;

namespace Engine.Bench.Pages;

/// <summary>
/// Page-aligned native memory, zeroed, that C and C# read and write through the same pointer: no pinning, no GC moves,
/// and the same alignment on both sides of a comparison.
/// </summary>
internal sealed unsafe class NativeBuffer : IDisposable
{
    private const int Alignment = 4096;

    public NativeBuffer(long length)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(length);
        Length = length;
        Pointer = (byte*)NativeMemory.AlignedAlloc((nuint)length, Alignment);
        NativeMemory.Clear(Pointer, (nuint)length);
    }

    public byte* Pointer { get; private set; }

    public long Length { get; }

    public Span<byte> Slice(long offset, int length)
    {
        if ((ulong)offset > (ulong)Length || (ulong)length > (ulong)(Length - offset))
        {
            throw new ArgumentOutOfRangeException(nameof(offset));
        }

        return new Span<byte>(Pointer + offset, length);
    }

    // No finalizer: buffers live for a whole benchmark run and are freed in its global cleanup.
    public void Dispose()
    {
        if (Pointer != null)
        {
            NativeMemory.AlignedFree(Pointer);
            Pointer = null;
        }
    }
}
