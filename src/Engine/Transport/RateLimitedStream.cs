namespace Engine.Transport;

/// <summary>
/// A write-only stream that holds its writes to <c>max-bandwidth</c> (<see cref="RateLimiter"/>: bandwidth / 10 bytes per
/// 100 ms window) on the way to an inner stream. A relay writes its outgoing link through it; since the relay reads its
/// source only as fast as it writes, the source is held to the link's speed too.
/// </summary>
/// <remarks>Used by one writing thread. A write is cut into pieces of at most one window's allowance, so no burst exceeds it.</remarks>
internal sealed class RateLimitedStream : SpanStream
{
    private readonly Stream _inner;
    private readonly RateLimiter _limiter;
    private readonly CancellationToken _cancellationToken;

    /// <summary>Limits writes to <paramref name="inner"/> to <paramref name="bytesPerSecond"/> (0 = unlimited).</summary>
    public RateLimitedStream(Stream inner, long bytesPerSecond, CancellationToken cancellationToken = default, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(inner);
        _inner = inner;
        _limiter = new RateLimiter(bytesPerSecond, time);
        _cancellationToken = cancellationToken;
    }

    /// <summary>Bytes written through to the inner stream.</summary>
    public long BytesWritten { get; private set; }

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override long Position
    {
        get => BytesWritten;
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            _limiter.WaitIfOverLimit(_cancellationToken);
            int take = (int)Math.Min(buffer.Length, Math.Max(1, _limiter.BytesPerWindow - _limiter.UsedInWindow));
            _inner.Write(buffer[..take]);
            _limiter.Record(take);
            BytesWritten += take;
            buffer = buffer[take..];
        }
    }

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();
}
