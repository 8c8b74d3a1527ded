using System.Globalization;
using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Multifd;

namespace Engine.Migration;

/// <summary>
/// The N send channels of a multifd sender and the batch it is filling, with QEMU 7.2's rules for handing batches over: a
/// batch holds pages of one block and goes to the channels round-robin (QEMU's <c>multifd_send_pages</c>); the barrier sends
/// the partial batch, reaps every batch and writes one SYNC packet per channel, waiting until each is written (QEMU's
/// <c>multifd_send_sync_main</c>). Used by a migration's source (<see cref="MultifdPageSender"/>) and a relay's multifd
/// output; each says what a finished batch means for it (its zero pages' ZERO records, its counts) through the reaper it
/// gives.
/// </summary>
/// <remarks>
/// Design: one thread (the migration's or the receive loop's) calls every member; it owns the batches while they are Free
/// or Done and reaps the ones a channel marked Done (see <see cref="MultifdSendChannel"/> for the ring's orderings). A
/// cancellation and every channel's progress release the one semaphore the owner waits on. <see cref="Dispose"/> stops
/// and joins every channel thread that was started, on every path.
/// </remarks>
internal sealed class MultifdSendChannels : IDisposable
{
    private readonly CompressMethod _compression;
    private readonly int _level;
    private readonly string _channelName;
    private readonly Action<MultifdBatch> _reap;
    private readonly CancellationToken _cancellationToken;
    private readonly SemaphoreSlim _progress = new(0);
    private readonly StrongBox<long> _packetCounter = new();
    private readonly List<MultifdSendChannel> _opened = [];
    private readonly CancellationTokenRegistration _stopWaiting;
    private MultifdSendChannel[] _channels = [];
    private MultifdBatch? _current;
    private int _currentChannel;
    private int _nextChannel;
    private long _packets;

    /// <summary>
    /// Channels that compress with <paramref name="compression"/> at <paramref name="level"/>; <paramref name="reap"/> is
    /// given each batch a channel has finished (before it is reset and reused); a channel's failure is reported as
    /// "<paramref name="channelName"/> failed", its id in place of <c>{0}</c>; a cancellation of <paramref name="cancellationToken"/> ends every wait.
    /// </summary>
    public MultifdSendChannels(CompressMethod compression, int level, string channelName, Action<MultifdBatch> reap, CancellationToken cancellationToken)
    {
        _compression = compression;
        _level = level;
        _channelName = channelName;
        _reap = reap;
        _cancellationToken = cancellationToken;

        // A cancellation wakes the owner's thread when it waits for a channel.
        _stopWaiting = cancellationToken.UnsafeRegister(static s => ((SemaphoreSlim)s!).Release(), _progress);
    }

    /// <summary>Channels started so far.</summary>
    public int Count => _channels.Length;

    /// <summary>Packets handed to the channels so far (SYNC packets included).</summary>
    public long Packets => _packets;

    /// <summary>Packets the channels wrote by gather writes from the pages (multifd none on plain TCP), after <see cref="Finish"/>.</summary>
    public long GatherWrites { get; private set; }

    /// <summary>The gather writes' sendmsg calls that took less than was left, after <see cref="Finish"/>.</summary>
    public long ShortWrites { get; private set; }

    /// <summary>The batch being filled, if any.</summary>
    public MultifdBatch? Current => _current;

    /// <summary>
    /// Adds channel <paramref name="id"/> over <paramref name="stream"/> (the channel owns it from here, even when this
    /// throws) and sends its hello with <paramref name="uuid"/> on this thread: a peer that closed the connection fails it here.
    /// </summary>
    public void Add(int id, Stream stream, ReadOnlySpan<byte> uuid)
    {
        MultifdSendChannel channel;
        try
        {
            channel = new MultifdSendChannel(id, stream, _compression, _level, _progress, _packetCounter);
        }
        catch
        {
            stream.Dispose();
            throw;
        }

        _opened.Add(channel);
        channel.Start(uuid);
        _channels = _opened.ToArray();
    }

    /// <summary>
    /// Sends the batch being filled, if any, and starts the next one for a page of block <paramref name="blockIndex"/>: a
    /// free batch on the next channel that has one, round-robin, waiting when none has.
    /// </summary>
    public MultifdBatch Begin(int blockIndex, byte[] blockName)
    {
        SubmitCurrent();
        MultifdBatch batch = AcquireBatch(out _currentChannel);
        batch.BlockIndex = blockIndex;
        batch.BlockName = blockName;
        _current = batch;
        return batch;
    }

    /// <summary>Sends the batch being filled, if any.</summary>
    public void SubmitCurrent()
    {
        if (_current is not null)
        {
            _channels[_currentChannel].Submit();
            _packets++;
            _current = null;
        }
    }

    /// <summary>
    /// The partial batch goes out, every batch is reaped, then one SYNC packet per channel, and this thread waits until each
    /// is written (and reaped).
    /// </summary>
    public void Barrier()
    {
        SubmitCurrent();
        DrainAll();
        foreach (MultifdSendChannel channel in _channels)
        {
            MultifdBatch sync = channel.Next;
            sync.Sync = true;
            channel.Submit();
            _packets++;
        }

        DrainAll();
    }

    /// <summary>Throws the first channel failure, naming the channel.</summary>
    public void ThrowIfFailed()
    {
        foreach (MultifdSendChannel channel in _channels)
        {
            if (channel.Failure is Exception failure)
            {
                string name = string.Format(CultureInfo.InvariantCulture, _channelName, channel.Id);
                throw new MigrationException($"{name} failed: {failure.Message}", failure);
            }
        }
    }

    /// <summary>Every channel ends its connection (over TLS with a close_notify) and its thread is joined; returns the bytes the channels wrote (hellos and packets).</summary>
    public long Finish()
    {
        long bytes = 0;
        foreach (MultifdSendChannel channel in _channels)
        {
            channel.Stop(graceful: true);
            bytes += channel.BytesSent;
            GatherWrites += channel.GatherWrites;
            ShortWrites += channel.ShortWrites;
        }

        return bytes;
    }

    /// <summary>Stops and joins every channel thread and closes its connection, whatever happened.</summary>
    public void Dispose()
    {
        foreach (MultifdSendChannel channel in _opened)
        {
            channel.Dispose();
        }

        _opened.Clear();
        _channels = [];
        _current = null;

        // The registration first: a running callback is waited for, so none releases the semaphore after it is disposed.
        _stopWaiting.Dispose();
        _progress.Dispose();
    }

    private MultifdBatch AcquireBatch(out int channelIndex)
    {
        while (true)
        {
            for (int step = 0; step < _channels.Length; step++)
            {
                int c = (_nextChannel + step) % _channels.Length;
                MultifdBatch next = _channels[c].Next;

                // Acquire: pairs with the channel's release of Done.
                int state = Volatile.Read(ref next.State);
                if (state == MultifdBatch.Submitted)
                {
                    continue;
                }

                if (state == MultifdBatch.Done)
                {
                    Reap(next);
                }

                _nextChannel = (c + 1) % _channels.Length;
                channelIndex = c;
                return next;
            }

            WaitForProgress();
        }
    }

    private void Reap(MultifdBatch batch)
    {
        _reap(batch);
        batch.Reset();

        // Release: the batch is reset before a channel can see it again (it sees it only after the next Submit).
        Volatile.Write(ref batch.State, MultifdBatch.Free);
    }

    private void DrainAll()
    {
        foreach (MultifdSendChannel channel in _channels)
        {
            foreach (MultifdBatch batch in channel.Slots)
            {
                while (Volatile.Read(ref batch.State) == MultifdBatch.Submitted)
                {
                    WaitForProgress();
                }

                if (Volatile.Read(ref batch.State) == MultifdBatch.Done)
                {
                    Reap(batch);
                }
            }
        }
    }

    private void WaitForProgress()
    {
        ThrowIfFailed();
        _cancellationToken.ThrowIfCancellationRequested();

        // Bounded, so a failure or a cancellation is noticed even if no release comes; a release ends it at once.
        _progress.Wait(100);
        ThrowIfFailed();
        _cancellationToken.ThrowIfCancellationRequested();
    }
}
