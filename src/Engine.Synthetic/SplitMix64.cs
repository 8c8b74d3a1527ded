using System.Runtime.CompilerServices;

namespace Engine.Synthetic;

/// <summary>
/// A small, fast, allocation-free pseudo-random generator (SplitMix64). Synthetic guests need reproducible content and
/// cheap random choices on writer threads; <see cref="Random"/> is a class with per-call overhead and no way to seed a
/// value-type stream per page.
/// </summary>
public struct SplitMix64
{
    private ulong _state;

    /// <summary>Creates a generator from <paramref name="seed"/>.</summary>
    public SplitMix64(ulong seed)
    {
        _state = seed;
    }

    /// <summary>The next 64 random bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ulong Next()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>A uniform integer in [0, <paramref name="bound"/>) (bound &gt; 0), by multiply-shift (no division).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int NextInt(int bound) => (int)(((Next() >> 32) * (ulong)(uint)bound) >> 32);

    /// <summary>A uniform double in [0, 1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public double NextDouble() => (Next() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Mixes two values into one well-spread 64-bit hash (a seed for a per-page stream).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ulong Mix(ulong a, ulong b)
    {
        var g = new SplitMix64(a ^ (b * 0xD1B54A32D192ED03UL));
        return g.Next();
    }
}
