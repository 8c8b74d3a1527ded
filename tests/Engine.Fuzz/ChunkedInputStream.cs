namespace Engine.Fuzz;

/// <summary>
/// A read-only stream over an input that hands out at most a few bytes per <see cref="Read(byte[], int, int)"/>, by a
/// fixed cycle of sizes. A file or a MemoryStream fills the reader's buffer in one read; a socket does not, and this
/// makes every input also exercise the reader's refill paths (an item split across reads at every kind of boundary).
/// The cycle is fixed, not taken from the input, so the input's bytes keep meaning only the migration stream.
/// </summary>
internal sealed class ChunkedInputStream(ReadOnlyMemory<byte> data, int[]? readSizes) : Stream
{
    private int _position;
    private int _nextSize;

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        int count = Math.Min(buffer.Length, data.Length - _position);
        if (readSizes is not null && count > 0)
        {
            count = Math.Min(count, readSizes[_nextSize]);
            _nextSize = (_nextSize + 1) % readSizes.Length;
        }

        data.Span.Slice(_position, count).CopyTo(buffer);
        _position += count;
        return count;
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
