using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Engine.Memory;

/// <summary>Vectorized zero-page detection (QEMU's <c>buffer_is_zero</c>).</summary>
internal static class ZeroPage
{
    /// <summary>True when every byte of <paramref name="page"/> is zero.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static bool IsZero(ReadOnlySpan<byte> page)
    {
        ref byte start = ref MemoryMarshal.GetReference(page);
        int length = page.Length;
        if (Vector256.IsHardwareAccelerated && length >= 4 * Vector256<byte>.Count)
        {
            return IsZeroVector256(ref start, length);
        }

        return !page.ContainsAnyExcept((byte)0);
    }

    // Compiled optimized at once: with tiering a migration shorter than the tier-up delay (about 100 ms after the last new
    // method) runs this loop, a page at a time, in its unoptimized first tier (docs/PERFORMANCE.md). Native AOT is unaffected.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static bool IsZeroVector256(ref byte start, int length)
    {
        // Four vectors per step: OR them together so the loop has one compare and one branch per 128 bytes.
        const int Step = 4 * 32;
        nuint offset = 0;
        nuint last = (nuint)(length - Step);
        while (offset <= last)
        {
            Vector256<byte> a = Vector256.LoadUnsafe(ref start, offset);
            Vector256<byte> b = Vector256.LoadUnsafe(ref start, offset + 32);
            Vector256<byte> c = Vector256.LoadUnsafe(ref start, offset + 64);
            Vector256<byte> d = Vector256.LoadUnsafe(ref start, offset + 96);
            if ((a | b | c | d) != Vector256<byte>.Zero)
            {
                return false;
            }

            offset += Step;
        }

        // The tail (length not a multiple of 128): an overlapping last step.
        if (offset < (nuint)length)
        {
            nuint tail = (nuint)length - Step;
            Vector256<byte> a = Vector256.LoadUnsafe(ref start, tail);
            Vector256<byte> b = Vector256.LoadUnsafe(ref start, tail + 32);
            Vector256<byte> c = Vector256.LoadUnsafe(ref start, tail + 64);
            Vector256<byte> d = Vector256.LoadUnsafe(ref start, tail + 96);
            return (a | b | c | d) == Vector256<byte>.Zero;
        }

        return true;
    }
}
