namespace Engine.Tests.Wire.Support;

/// <summary>
/// A read-only stream over some bytes that can hand them out in small random pieces, then stall (block until cancelled,
/// like a silent peer), fail with an IOException, or end.
/// </summary>
internal sealed class ScriptedStream(byte[] data, int maxChunk = int.MaxValue, int seed = 1, ScriptedStream.AtEnd atEnd = ScriptedStream.AtEnd.Close) : Stream
{
    private readonly Random _random = new(seed);
    private readonly ManualResetEventSlim _never = new(false);
    private int _position;

    public enum AtEnd
    {
        Close,
        Stall,
        Fail,
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => _position;
        set => throw new NotSupportedException();
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        if (_position == data.Length)
        {
            switch (atEnd)
            {
                case AtEnd.Stall:
                    _never.Wait();
                    return 0;
                case AtEnd.Fail:
                    throw new IOException("connection reset by peer");
                default:
                    return 0;
            }
        }

        int take = Math.Min(Math.Min(buffer.Length, data.Length - _position), maxChunk == int.MaxValue ? int.MaxValue : _random.Next(1, maxChunk + 1));
        data.AsSpan(_position, take).CopyTo(buffer);
        _position += take;
        return take;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position == data.Length && atEnd == AtEnd.Stall)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        return Read(buffer.Span);
    }

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
