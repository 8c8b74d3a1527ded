using System.Runtime.ExceptionServices;

namespace Engine.Wire;

// The input side: one buffer, refilled from the stream, compacted so that the current item always stays contiguous.
internal sealed partial class MigrationStreamReader
{
    /// <summary>
    /// The longest item the reader parses in one piece: a block list of MaxRamBlocks entries with x-ignore-shared
    /// (1024 x (1 + 255 + 16) + 8 bytes); every other item (a 64 KiB command, a page record) is shorter.
    /// </summary>
    internal const int MaxItemLength = 320 * 1024;

    private byte[] _buffer;
    private int _position;
    private int _end;
    private long _bufferOrigin;
    private bool _inputEnded;

    /// <summary>
    /// Copies everything not yet consumed, from <see cref="Position"/> to the end of the input, to
    /// <paramref name="destination"/>: after RAM's END this is the device state, EOF and VM description, which a
    /// transcoder passes on byte for byte. Returns the number of bytes copied. The reader is done afterwards.
    /// </summary>
    public long CopyRemainderTo(Stream destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        return DrainRemainder(destination);
    }

    /// <summary>Consumes and counts everything not yet consumed, up to the end of the input. The reader is done afterwards.</summary>
    public long SkipRemainder() => DrainRemainder(null);

    private long DrainRemainder(Stream? destination)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_state == ReaderState.Faulted)
        {
            throw new InvalidOperationException("the reader has failed before");
        }

        long total = 0;
        try
        {
            while (true)
            {
                int available = _end - _position;
                if (available > 0)
                {
                    destination?.Write(_buffer, _position, available);
                    _position += available;
                    total += available;
                }

                if (_inputEnded)
                {
                    break;
                }

                _bufferOrigin += _position;
                _position = 0;
                _end = 0;
                _itemStart = 0;
                int read = ReadInput(0, _buffer.Length);
                if (read == 0)
                {
                    _inputEnded = true;
                    break;
                }

                _end = read;
            }
        }
        catch
        {
            _state = ReaderState.Faulted;
            throw;
        }

        _state = ReaderState.Done;
        _kind = MigrationItemKind.None;
        _rawItemValid = false;
        return total;
    }

    /// <summary>Makes <paramref name="count"/> bytes from <see cref="_position"/> available or throws a truncation error.</summary>
    private void Require(int count, string what)
    {
        if (_end - _position < count && !TryRequire(count))
        {
            throw new MigrationStreamException(
                _bufferOrigin + _position,
                $"expected {what} ({count} bytes), found the end of the stream after {_end - _position} of them (the stream ends at byte {_bufferOrigin + _end})");
        }
    }

    /// <summary>Makes <paramref name="count"/> bytes from <see cref="_position"/> available; false when the input ends first.</summary>
    private bool TryRequire(int count)
    {
        while (_end - _position < count)
        {
            if (_inputEnded)
            {
                return false;
            }

            int missing = count - (_end - _position);
            if (_buffer.Length - _end < missing)
            {
                // BeginItem leaves MaxItemLength bytes of room after every item start, and every item is shorter than that;
                // reaching this is a bug in the reader, never a property of the input.
                throw new InvalidOperationException($"a migration stream item needs more than the reader's {_buffer.Length}-byte buffer");
            }

            int read = ReadInput(_end, _buffer.Length - _end);
            if (read == 0)
            {
                _inputEnded = true;
                return false;
            }

            _end += read;
        }

        return true;
    }

    /// <summary>
    /// Moves the unconsumed bytes to the front of the buffer when less than <see cref="MaxItemLength"/> bytes of room are
    /// left after <see cref="_position"/>. Called only between items, so the parser's buffer indices never move under it.
    /// </summary>
    private void MakeRoomForItem()
    {
        if (_buffer.Length - _position >= MaxItemLength)
        {
            return;
        }

        int keep = _end - _position;
        Buffer.BlockCopy(_buffer, _position, _buffer, 0, keep);
        _bufferOrigin += _position;
        _position = 0;
        _end = keep;
    }

    /// <summary>Consumes <paramref name="length"/> bytes without keeping them (bodies that are only skipped).</summary>
    private void Skip(long length, string what)
    {
        long skipStart = _bufferOrigin + _position;
        while (length > 0)
        {
            int taken = ConsumeBuffered(length).Length;
            if (taken == 0)
            {
                throw new MigrationStreamException(
                    skipStart,
                    $"expected {what} ({length} more bytes), found the end of the stream at byte {_bufferOrigin + _end}");
            }

            length -= taken;
        }
    }

    /// <summary>
    /// Consumes up to <paramref name="max"/> of the buffered bytes and returns them (valid until the next read); an empty
    /// buffer is refilled first, from its start, since nothing before <see cref="_position"/> is kept by the callers (bodies
    /// read or skipped in pieces, never exposed raw). Empty only at the end of the stream.
    /// </summary>
    private ReadOnlySpan<byte> ConsumeBuffered(long max)
    {
        if (_end == _position)
        {
            _bufferOrigin += _position;
            _position = 0;
            _end = 0;
            _itemStart = 0;
            if (!TryRequire(1))
            {
                return default;
            }
        }

        int take = (int)Math.Min(max, _end - _position);
        ReadOnlySpan<byte> buffered = _buffer.AsSpan(_position, take);
        _position += take;
        return buffered;
    }

    private int ReadInput(int offset, int count)
    {
        CancellationToken token = _options.CancellationToken;
        TimeSpan timeout = _options.ReadTimeout;
        long at = _bufferOrigin + offset;
        try
        {
            if (!token.CanBeCanceled && timeout == Timeout.InfiniteTimeSpan)
            {
                return _input.Read(_buffer, offset, count);
            }

            token.ThrowIfCancellationRequested();
            ValueTask<int> pending = _input.ReadAsync(_buffer.AsMemory(offset, count), token);
            if (pending.IsCompleted)
            {
                return pending.GetAwaiter().GetResult();
            }

            // Not every stream honours the token once a read is under way, so the wait itself is bounded too. A read left
            // pending after a stall may still write into _buffer later; the reader is faulted by then and never reads it.
            Task<int> task = pending.AsTask();
            bool completed;
            try
            {
                completed = task.Wait(timeout, token);
            }
            catch (OperationCanceledException)
            {
                _readAbandoned = !task.IsCompleted;
                throw;
            }

            if (!completed)
            {
                _readAbandoned = true;
                throw new MigrationStreamException(
                    at,
                    $"the input stalled: no data for {timeout.TotalSeconds:0.###} s (ReadTimeout); expected more of the stream");
            }

            return task.Result;
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            Exception inner = e.InnerExceptions[0];
            if (inner is IOException or ObjectDisposedException)
            {
                throw new MigrationStreamException(at, $"reading the input failed: {inner.Message}", inner);
            }

            ExceptionDispatchInfo.Throw(inner);
            throw;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            throw new MigrationStreamException(at, $"reading the input failed: {e.Message}", e);
        }
    }
}
