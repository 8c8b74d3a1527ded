using System.Diagnostics;

namespace Engine.Transport;

/// <summary>
/// Reads a peer's connection and drops a peer that trickles: one that sends a byte now and then, so that no single read
/// ever waits out the socket's timeout, but fewer than <see cref="MinimumBytes"/> per <see cref="Window"/>. A stalled peer is
/// the socket timeout's job; this closes the gap a trickling one would hold a listener through.
/// </summary>
/// <remarks>
/// Checked after each read, against the clock (one timestamp per read, nothing allocated): when a window has passed, the
/// bytes read in it must reach the minimum, else <see cref="IOException"/> says how much came in how long. So a trickling
/// peer is dropped within two windows. Read only (the destination's side); writes pass through.
/// </remarks>
internal sealed class ProgressGuardStream : SpanStream
{
    private readonly Stream _inner;
    private readonly long _windowTicks;
    private long _windowStart;
    private long _windowBytes;

    /// <summary>Guards <paramref name="inner"/>: at least <paramref name="minimumBytes"/> per <paramref name="window"/>.</summary>
    public ProgressGuardStream(Stream inner, TimeSpan window, long minimumBytes)
    {
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(window, TimeSpan.Zero);
        _inner = inner;
        Window = window;
        MinimumBytes = minimumBytes;
        _windowTicks = (long)(window.TotalSeconds * Stopwatch.Frequency);
        _windowStart = Stopwatch.GetTimestamp();
    }

    /// <summary>The stream read.</summary>
    public Stream Inner => _inner;

    /// <summary>The window the minimum applies to.</summary>
    public TimeSpan Window { get; }

    /// <summary>The fewest bytes a window must bring.</summary>
    public long MinimumBytes { get; }

    /// <summary>Every byte read so far.</summary>
    public long BytesRead { get; private set; }

    /// <inheritdoc />
    public override bool CanRead => _inner.CanRead;

    /// <inheritdoc />
    public override bool CanWrite => _inner.CanWrite;

    /// <inheritdoc />
    public override int Read(Span<byte> buffer)
    {
        int n = _inner.Read(buffer);
        Account(n);
        return n;
    }

    /// <inheritdoc />
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        int n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        Account(n);
        return n;
    }

    /// <inheritdoc />
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc />
    public override void Write(ReadOnlySpan<byte> buffer) => _inner.Write(buffer);

    /// <inheritdoc />
    public override void Flush() => _inner.Flush();

    private void Account(int read)
    {
        _windowBytes += read;
        BytesRead += read;
        long now = Stopwatch.GetTimestamp();
        if (now - _windowStart < _windowTicks || read == 0)
        {
            return;
        }

        if (_windowBytes < MinimumBytes)
        {
            double seconds = (double)(now - _windowStart) / Stopwatch.Frequency;
            throw new IOException($"the peer is trickling: {_windowBytes} bytes in the last {seconds:0.#} s, fewer than the {MinimumBytes} expected per {Window.TotalSeconds:0.#} s (a stalled or hostile peer is dropped)");
        }

        _windowStart = now;
        _windowBytes = 0;
    }
}
