using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>Argument checks shared by the codecs: programming errors throw, payload problems never do.</summary>
internal static class PageArguments
{
    /// <summary>Throws <see cref="ArgumentException"/> unless <paramref name="page"/> is exactly one page.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ThrowIfNotPage(ReadOnlySpan<byte> page)
    {
        if (page.Length != PageSizes.PageSize)
        {
            ThrowWrongPageLength(page.Length);
        }
    }

    [DoesNotReturn]
    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowWrongPageLength(int length)
        => throw new ArgumentException($"A page is exactly {PageSizes.PageSize} bytes; this one is {length} bytes.", "page");
}
