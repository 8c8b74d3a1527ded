using Engine.Codecs;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

/// <summary>
/// A page-sized (or larger) buffer with canary bytes before and after it, to prove a codec never writes outside the span it
/// was given, or past 4096 bytes of a larger span.
/// </summary>
internal sealed class GuardedPage
{
    private const int GuardSize = 256;
    private const byte Canary = 0xA5;

    private readonly byte[] _buffer;
    private readonly int _length;
    private readonly int _writable;

    /// <param name="length">The span handed to the codec.</param>
    /// <param name="writable">How many bytes at the start of that span the codec may write (the rest is canary too).</param>
    public GuardedPage(int length = PageSizes.PageSize, int? writable = null)
    {
        _length = length;
        _writable = writable ?? length;
        _buffer = new byte[GuardSize + length + GuardSize];
        Reset();
    }

    public Span<byte> Span => _buffer.AsSpan(GuardSize, _length);

    public ReadOnlySpan<byte> Written => _buffer.AsSpan(GuardSize, _writable);

    public void Reset() => _buffer.AsSpan().Fill(Canary);

    public void AssertCanariesIntact()
    {
        int before = _buffer.AsSpan(0, GuardSize).IndexOfAnyExcept(Canary);
        Assert.True(before < 0, $"the codec wrote {GuardSize - before} bytes before its span");
        int after = _buffer.AsSpan(GuardSize + _writable).IndexOfAnyExcept(Canary);
        Assert.True(after < 0, $"the codec wrote at {after} bytes past the {_writable} bytes it may write");
    }
}
