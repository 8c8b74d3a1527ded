using System.Net.Sockets;
using Engine.Memory;
using Engine.Wire;

namespace Engine.Multifd;

/// <summary>
/// A multifd source's channels as a relay receives them: accepted and checked on <see cref="MultifdDestination"/>'s path
/// (hello, UUID, ids), their packets decoded by its receive channels into memory the size of the source's RAM, and at every
/// EOS of the main stream handed to the <see cref="Transcoder"/> that writes the section's pages into the one output stream
/// before that EOS.
/// </summary>
/// <remarks>
/// Design: the relay's thread (the transcoder's) is the main thread of the channels' SYNC protocol. At an EOS it waits
/// until every channel has read its SYNC, so every page of the section is in memory and no channel writes until it is
/// released; it then copies the section's page list, encodes the pages from memory, and only then releases the channels
/// (<see cref="EndSection"/>). A page is therefore never read while a channel writes it. Memory is reserved for the whole
/// RAM but only pages that arrive are touched.
/// </remarks>
internal sealed class MultifdRelayInput : ISectionPages, IDisposable
{
    private readonly MultifdDestination _destination;
    private readonly MultifdReceiveChannel?[] _channels;
    private readonly MultifdReceiveState _state;
    private readonly CancellationToken _cancellationToken;
    private GuestMemory? _memory;
    private RamBlock[] _blocks = [];
    private long[] _pages = [];

    /// <summary>
    /// Prepares to receive <paramref name="destination"/>'s channels; <paramref name="onFailure"/> runs once on a channel's
    /// thread when one fails (it should wake the thread reading the main connection).
    /// </summary>
    public MultifdRelayInput(MultifdDestination destination, Action onFailure, CancellationToken cancellationToken)
    {
        _destination = destination;
        _channels = new MultifdReceiveChannel?[destination.Parameters.Channels];
        _state = new MultifdReceiveState { TrackPages = true, OnFailure = onFailure };
        _cancellationToken = cancellationToken;
    }

    /// <summary>The first failure of a channel (it names the channel and the byte offset).</summary>
    public Exception? Failure => _state.Failure;

    /// <summary>Bytes read on every channel, hellos included.</summary>
    public long BytesRead => _channels.Sum(c => c?.Position ?? 0);

    /// <summary>Accepts the N channel connections from <paramref name="listener"/> (after the main one, as QEMU 7.2).</summary>
    public void Accept(TcpListener listener) => _destination.AcceptChannels(listener, _channels, _state, _cancellationToken);

    public void Start(IReadOnlyList<RamBlockInfo> blocks)
    {
        _memory = new GuestMemory();
        foreach (RamBlockInfo info in blocks)
        {
            _memory.AddBlock(info.Name, info.Length);
        }

        _blocks = _memory.Blocks.ToArray();
        _state.PublishMemory(_memory);
    }

    public int WaitForSection(long eosOffset)
    {
        _destination.WaitForSyncs(_channels, _state, eosOffset, _cancellationToken);
        int count = 0;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            count += channel!.ReceivedCount;
        }

        if (count > _pages.Length)
        {
            // Grows to the largest section seen; nothing per page.
            _pages = new long[Math.Max(count, _pages.Length * 2)];
        }

        count = 0;
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel!.CopyReceived(_pages.AsSpan(count));
            count += channel.ReceivedCount;
            channel.ClearReceived();
        }

        return count;
    }

    public ReadOnlySpan<byte> Page(int index, out int block, out long offset)
    {
        offset = MultifdReceiveChannel.Unpack(_pages[index], out block);
        return _blocks[block].GetPage(offset);
    }

    public void EndSection() => MultifdDestination.Release(_channels);

    /// <summary>Stops every channel thread (joined), then frees the memory.</summary>
    public void Dispose()
    {
        foreach (MultifdReceiveChannel? channel in _channels)
        {
            channel?.Dispose();
        }

        _memory?.Dispose();
        _state.Dispose();
    }
}
