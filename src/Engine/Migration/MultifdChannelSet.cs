using System.Net.Sockets;
using Engine.Memory;
using Engine.Multifd;
using Engine.Receive;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// A multifd source's N receive channels as the receive loop's second page source (<see cref="IChannelPages"/>): accepted
/// and checked on <see cref="MultifdDestination"/>'s path (hello, UUID, ids, TLS), reading packets on their own threads
/// straight into the published guest memory, held at each SYNC until the loop's barrier releases them. The destination's
/// channels write guest memory; the relay's (with tracking) also list the pages, which the loop hands to the re-encoder at
/// each barrier.
/// </summary>
/// <remarks>
/// Design: the loop's thread is the main thread of the channels' SYNC protocol (<see cref="MultifdReceiveChannel"/>). The
/// tracked pages are read only while every channel waits at its SYNC (after <see cref="WaitForBarrier"/>, before
/// <see cref="Release"/>) or has ended (after <see cref="Drain"/> joined it), so a page is never read while a channel
/// writes it. The guest memory is freed by its owner only after <see cref="Dispose"/> joined every channel thread.
/// </remarks>
internal sealed class MultifdChannelSet : IChannelPages, IDisposable
{
    private readonly MultifdDestination _destination;
    private readonly MultifdReceiveChannel?[] _channels;
    private readonly MultifdReceiveState _state;
    private readonly TimeSpan _readTimeout;
    private readonly CancellationToken _cancellationToken;
    private RamBlock[] _blocks = [];
    private GuestMemory? _ownedMemory;
    private long[] _pages = [];
    private int _pageCount;
    private bool _drained;

    /// <summary>
    /// Prepares to receive <paramref name="destination"/>'s channels; <paramref name="onFailure"/> runs once on a channel's
    /// thread when one fails (it should wake the thread reading the main connection). <paramref name="trackPages"/>: list
    /// the pages for a target that takes them (the relay).
    /// </summary>
    public MultifdChannelSet(MultifdDestination destination, TimeSpan readTimeout, bool trackPages, Action onFailure, CancellationToken cancellationToken)
    {
        _destination = destination;
        _channels = new MultifdReceiveChannel?[destination.Parameters.MultifdChannels];
        _state = new MultifdReceiveState { TrackPages = trackPages, OnFailure = onFailure };
        _readTimeout = readTimeout;
        _cancellationToken = cancellationToken;
        Compressed = destination.Parameters.MultifdCompression != Codecs.CompressMethod.None;
    }

    /// <summary>The first failure of a channel (it names the channel and the byte offset).</summary>
    public Exception? Failure => _state.Failure;

    /// <inheritdoc />
    public bool Compressed { get; }

    /// <inheritdoc />
    public long Pages => Sum(static c => c.Pages);

    /// <inheritdoc />
    public long ZeroPages => Sum(static c => c.ZeroPages);

    /// <inheritdoc />
    public long BytesRead => Sum(static c => c.Position);

    /// <inheritdoc />
    public int PageCount => _pageCount;

    /// <summary>Accepts the N channel connections from <paramref name="listener"/> (after the main one, as QEMU) and starts their threads.</summary>
    public void Accept(TcpListener listener) => _destination.AcceptChannels(listener, _channels, _state, _cancellationToken);

    /// <summary>Lets the channels write into <paramref name="memory"/> (the block list was read).</summary>
    public void Publish(GuestMemory memory)
    {
        _blocks = memory.Blocks.ToArray();
        _state.PublishMemory(memory);
    }

    /// <summary>
    /// For a relay: makes memory of the source's RAM size for the channels to decode into (reserved for the whole RAM, only
    /// pages that arrive are touched; freed by <see cref="Dispose"/>) and publishes it.
    /// </summary>
    public void Allocate(IReadOnlyList<RamBlockInfo> blocks)
    {
        _ownedMemory = new GuestMemory();
        foreach (RamBlockInfo info in blocks)
        {
            _ownedMemory.AddReceivingBlock(info.Name, info.Length);
        }

        Publish(_ownedMemory);
    }

    /// <inheritdoc />
    public void WaitForBarrier(long streamOffset)
    {
        // QEMU's multifd_recv_sync_main: one SYNC from every channel, then (Release) let them all go on.
        long deadline = Environment.TickCount64 + (long)_readTimeout.TotalMilliseconds;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            while (!channel!.WaitForSync(TimeSpan.FromMilliseconds(100)))
            {
                Check(channel, deadline, $"no SYNC packet within {_readTimeout.TotalSeconds:0.#} s of the main channel's barrier at byte offset {streamOffset}");
            }
        }

        Collect();
    }

    /// <inheritdoc />
    public void Release()
    {
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel!.Release();
        }
    }

    /// <inheritdoc />
    public void Drain(long streamOffset)
    {
        if (_drained)
        {
            return;
        }

        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel!.BeginDrain();
        }

        long deadline = Environment.TickCount64 + (long)_readTimeout.TotalMilliseconds;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            while (!channel!.WaitForEnd(TimeSpan.FromMilliseconds(100)))
            {
                Check(channel, deadline, $"the connection did not end within {_readTimeout.TotalSeconds:0.#} s of the main channel's RAM end at byte offset {streamOffset}: its last pages may be missing");
            }

            if (channel.Failure is Exception failure)
            {
                throw failure;
            }
        }

        _drained = true;
        Collect();
    }

    /// <inheritdoc />
    public ReadOnlySpan<byte> Page(int index, out int block, out long offset)
    {
        offset = MultifdReceiveChannel.Unpack(_pages[index], out block);
        return _blocks[block].GetPage(offset);
    }

    /// <inheritdoc />
    public void ClearPages()
    {
        _pageCount = 0;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel!.ClearReceived();
        }
    }

    /// <summary>
    /// Stops every channel once the migration is complete: its thread joined and, for a channel the source ended cleanly,
    /// a TLS close_notify back.
    /// </summary>
    public void StopAll()
    {
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel!.Stop(graceful: true);
        }
    }

    /// <summary>Throws the first failure of any channel.</summary>
    public void ThrowIfFailed()
    {
        if (_state.Failure is Exception failure)
        {
            throw failure;
        }
    }

    /// <summary>Stops every channel thread (joined), then frees the memory made by <see cref="Allocate"/>.</summary>
    public void Dispose()
    {
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel?.Dispose();
        }

        _ownedMemory?.Dispose();
        _state.Dispose();
    }

    private void Check(MultifdReceiveChannel channel, long deadline, string timeoutMessage)
    {
        ThrowIfFailed();
        _cancellationToken.ThrowIfCancellationRequested();
        if (Environment.TickCount64 > deadline)
        {
            throw new MultifdChannelException(channel.Id, channel.Position, timeoutMessage);
        }
    }

    private long Sum(Func<MultifdReceiveChannel, long> count)
    {
        long sum = 0;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            sum += channel is null ? 0 : count(channel);
        }

        return sum;
    }

    /// <summary>With tracking: gathers the pages each channel listed since the last barrier (every channel held or ended).</summary>
    private void Collect()
    {
        if (!_state.TrackPages)
        {
            return;
        }

        int count = 0;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            count += channel!.ReceivedCount;
        }

        if (count > _pages.Length)
        {
            // Grows to the largest round seen; nothing per page.
            _pages = new long[Math.Max(count, _pages.Length * 2)];
        }

        count = 0;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel!.CopyReceived(_pages.AsSpan(count));
            count += channel.ReceivedCount;
        }

        _pageCount = count;
    }
}
