using Engine.Codecs;

namespace Engine.Tests.Support;

/// <summary>Wraps a compressor with a <see cref="ChaosPlan"/>.</summary>
internal sealed class ChaosCompressor(IPageCompressor inner, ChaosPlan plan, int seed) : IPageCompressor
{
    private readonly Random _random = new(seed);
    private long _lastAllocated;
    private int _localCalls;

    public CompressMethod Method => inner.Method;

    public int Level => inner.Level;

    public int MaxCompressedLength => inner.MaxCompressedLength;

    public static Func<IPageCompressor> Factory(Func<IPageCompressor> inner, ChaosPlan plan)
    {
        int seed = 0;
        return () => new ChaosCompressor(inner(), plan, Interlocked.Increment(ref seed));
    }

    public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
    {
        if (plan.BeforeCall(_random, ref _lastAllocated, ref _localCalls, ChaosPlan.TagOf(page)))
        {
            throw new InvalidOperationException("injected compressor failure");
        }

        return inner.Compress(page, destination, out written);
    }

    public void Dispose() => inner.Dispose();
}
