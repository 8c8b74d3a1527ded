using System.Collections.Concurrent;
using System.Runtime.ExceptionServices;

namespace Engine.Transport;

/// <summary>
/// A write-only stream that hands its bytes to a sender thread in chunks, so that the writing thread can go on (read and
/// encode the next pages) while the previous chunk is on its way: a relay keeps its outgoing link busy instead of letting
/// it idle while it compresses. At most <c>chunks</c> chunks are in flight; a writer that gets ahead waits for one to come
/// back, so the source is still read only as fast as the link takes the bytes.
/// </summary>
/// <remarks>
/// Design: one producer (the thread that calls <see cref="Write(ReadOnlySpan{byte})"/>, <see cref="Flush"/> and
/// <see cref="Complete"/>) and one sender thread. Chunk arrays cycle between two blocking queues, free and full, so nothing is
/// allocated per write and no chunk is touched by both threads at once (handing it over through the queue orders the copy
/// before the send). The sender's first failure is kept, cancels the producer's wait, and is rethrown to the producer at
/// its next call. <see cref="Flush"/> hands over a partial chunk without waiting for it; <see cref="Complete"/> waits
/// until every byte has been written to the inner stream.
/// </remarks>
internal sealed class BackgroundWriteStream : SpanStream
{
    private readonly Stream _inner;
    private readonly BlockingCollection<byte[]> _free;
    private readonly BlockingCollection<(byte[] Chunk, int Length)> _full;
    private readonly CancellationTokenSource _failed;
    private readonly CancellationToken _cancellation;
    private readonly Thread _sender;
    private byte[]? _current;
    private int _used;
    private bool _completed;
    private ExceptionDispatchInfo? _failure;

    /// <summary>Sends to <paramref name="inner"/> on a thread of its own, in chunks of <paramref name="chunkSize"/> bytes.</summary>
    public BackgroundWriteStream(Stream inner, int chunkSize = 128 * 1024, int chunks = 3, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunkSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(chunks, 2);
        _inner = inner;
        _free = new BlockingCollection<byte[]>(chunks);
        _full = new BlockingCollection<(byte[], int)>(chunks);
        for (int i = 0; i < chunks; i++)
        {
            _free.Add(new byte[chunkSize]);
        }

        _failed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _cancellation = _failed.Token;
        _sender = new Thread(Send) { IsBackground = true, Name = "background write" };
        _sender.Start();
    }

    /// <inheritdoc />
    public override bool CanRead => false;

    /// <inheritdoc />
    public override bool CanWrite => true;

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_completed, this);
        Volatile.Read(ref _failure)?.Throw();
        while (!buffer.IsEmpty)
        {
            _current ??= TakeFree();
            int take = Math.Min(buffer.Length, _current.Length - _used);
            buffer[..take].CopyTo(_current.AsSpan(_used));
            _used += take;
            buffer = buffer[take..];
            if (_used == _current.Length)
            {
                HandOver();
            }
        }
    }

    /// <summary>Hands the bytes written so far to the sender; does not wait for them to be sent.</summary>
    public override void Flush()
    {
        Volatile.Read(ref _failure)?.Throw();
        if (_current is not null && _used > 0)
        {
            HandOver();
        }
    }

    /// <summary>Hands over the rest and waits until every byte has been written to the inner stream (which is flushed).</summary>
    public void Complete()
    {
        if (_completed)
        {
            Volatile.Read(ref _failure)?.Throw();
            return;
        }

        Flush();
        _completed = true;
        _full.CompleteAdding();
        _sender.Join();
        Volatile.Read(ref _failure)?.Throw();
        _inner.Flush();
    }

    /// <summary>Stops the sender without waiting for unsent bytes (after a failure); the inner stream is not disposed.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!_completed)
            {
                _completed = true;
                _failed.Cancel();
                _full.CompleteAdding();
            }

            // The sender ends at its next chunk; a send blocked on a dead peer ends when the caller aborts the connection.
            _sender.Join(TimeSpan.FromSeconds(5));
            _failed.Dispose();
        }

        base.Dispose(disposing);
    }

    private byte[] TakeFree()
    {
        try
        {
            return _free.Take(_cancellation);
        }
        catch (OperationCanceledException)
        {
            Volatile.Read(ref _failure)?.Throw();
            throw;
        }
    }

    private void HandOver()
    {
        try
        {
            _full.Add((_current!, _used), _cancellation);
        }
        catch (OperationCanceledException)
        {
            Volatile.Read(ref _failure)?.Throw();
            throw;
        }

        _current = null;
        _used = 0;
    }

    private void Send()
    {
        try
        {
            foreach ((byte[] chunk, int length) in _full.GetConsumingEnumerable(_cancellation))
            {
                _inner.Write(chunk, 0, length);
                _free.Add(chunk);
            }
        }
        catch (OperationCanceledException)
        {
            // Disposed or cancelled: the producer learns it from its own token.
        }
        catch (Exception e)
        {
            // Published before the cancellation that wakes the producer (the token's state change is a full fence).
            Volatile.Write(ref _failure, ExceptionDispatchInfo.Capture(e));
            _failed.Cancel();
        }
    }
}
