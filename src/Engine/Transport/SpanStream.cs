namespace Engine.Transport;

/// <summary>
/// The base of Engine's own streams, which are read or written front to back, never sought: a subclass overrides
/// <see cref="Read(Span{byte})"/> or <see cref="Write(ReadOnlySpan{byte})"/> (or both), the array overloads come to
/// those, and the rest of <see cref="Stream"/>'s seeking surface says NotSupported.
/// </summary>
/// <remarks>
/// A direction a subclass does not override throws <see cref="NotSupportedException"/>; it never falls back on
/// <see cref="Stream"/>'s span-to-array bridge, which would call the array overload back and recurse.
/// </remarks>
internal abstract class SpanStream : Stream
{
    /// <inheritdoc />
    public override bool CanSeek => false;

    /// <inheritdoc />
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc />
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    /// <inheritdoc />
    public sealed override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override int Read(Span<byte> buffer) => throw new NotSupportedException();

    /// <inheritdoc />
    public sealed override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer) => throw new NotSupportedException();

    /// <inheritdoc />
    public sealed override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc />
    public sealed override void SetLength(long value) => throw new NotSupportedException();
}
