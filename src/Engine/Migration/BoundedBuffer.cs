namespace Engine.Migration;

/// <summary>A write-only memory buffer with a cap: what a peer sends after RAM's END can never make it allocate without bound.</summary>
internal sealed class BoundedBuffer : Stream
{
    private readonly MemoryStream _inner = new();
    private readonly long _limit;

    public BoundedBuffer(long limit) => _limit = limit;

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => _inner.Length;

    public override long Position
    {
        get => _inner.Length;
        set => throw new NotSupportedException();
    }

    public byte[] ToArray() => _inner.ToArray();

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_inner.Length + buffer.Length > _limit)
        {
            throw new MigrationException($"the source sent more than {_limit} bytes after RAM's END (device state); the limit is DestinationOptions.MaxDeviceStateBytes");
        }

        _inner.Write(buffer);
    }

    public override void Flush()
    {
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
