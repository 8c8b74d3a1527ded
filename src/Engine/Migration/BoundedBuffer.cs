using Engine.Transport;

namespace Engine.Migration;

/// <summary>A write-only memory buffer with a cap: what a peer sends after RAM's END can never make it allocate without bound.</summary>
internal sealed class BoundedBuffer : SpanStream
{
    private readonly MemoryStream _inner = new();
    private readonly long _limit;

    public BoundedBuffer(long limit) => _limit = limit;

    public override bool CanRead => false;

    public override bool CanWrite => true;

    public override long Length => _inner.Length;

    public override long Position
    {
        get => _inner.Length;
        set => throw new NotSupportedException();
    }

    public byte[] ToArray() => _inner.ToArray();

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

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _inner.Dispose();
        }

        base.Dispose(disposing);
    }
}
