using System.Runtime.InteropServices;

namespace Engine.Memory;

/// <summary>
/// Owns one block of native memory from <see cref="NativeMemory.AlignedAlloc(nuint, nuint)"/>, zeroed at allocation.
/// A SafeHandle rather than a hand-written finalizer, so memory that nobody disposed still goes back exactly once.
/// </summary>
internal sealed unsafe class AlignedMemoryHandle : SafeHandle
{
    private AlignedMemoryHandle(byte* pointer, nuint length)
        : base(IntPtr.Zero, ownsHandle: true)
    {
        SetHandle((IntPtr)pointer);
        Length = length;
    }

    /// <summary>The number of bytes owned.</summary>
    public nuint Length { get; }

    /// <summary>The first byte. Valid until the handle is disposed.</summary>
    public byte* Pointer => (byte*)handle;

    /// <inheritdoc />
    public override bool IsInvalid => handle == IntPtr.Zero;

    /// <summary>Allocates <paramref name="length"/> zeroed bytes aligned to <paramref name="alignment"/> (a power of two).</summary>
    public static AlignedMemoryHandle Allocate(nuint length, nuint alignment)
    {
        ArgumentOutOfRangeException.ThrowIfZero(length);
        byte* pointer = (byte*)NativeMemory.AlignedAlloc(length, alignment);
        try
        {
            NativeMemory.Clear(pointer, length);
            return new AlignedMemoryHandle(pointer, length);
        }
        catch
        {
            NativeMemory.AlignedFree(pointer);
            throw;
        }
    }

    /// <inheritdoc />
    protected override bool ReleaseHandle()
    {
        NativeMemory.AlignedFree((void*)handle);
        return true;
    }
}
