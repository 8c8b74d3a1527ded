using Engine.Codecs;

namespace Engine.Tests.Support;

/// <summary>Wraps a decompressor with a <see cref="ChaosPlan"/>.</summary>
internal sealed class ChaosDecompressor(IPageDecompressor inner, ChaosPlan plan, int seed) : IPageDecompressor
{
    private readonly Random _random = new(seed);
    private long _lastAllocated;
    private int _localCalls;

    public CompressMethod Method => inner.Method;

    public static Func<IPageDecompressor> Factory(Func<IPageDecompressor> inner, ChaosPlan plan)
    {
        int seed = 1000;
        return () => new ChaosDecompressor(inner(), plan, Interlocked.Increment(ref seed));
    }

    public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
    {
        if (plan.BeforeCall(_random, ref _lastAllocated, ref _localCalls, -1))
        {
            if (plan.FailWithStatus)
            {
                return DecompressStatus.Corrupt;
            }

            throw new InvalidOperationException("injected decompressor failure");
        }

        return inner.Decompress(payload, page);
    }

    public void Dispose() => inner.Dispose();
}
