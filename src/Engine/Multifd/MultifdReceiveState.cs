using Engine.Memory;

namespace Engine.Multifd;

/// <summary>
/// What the main channel shares with the receive channels: the guest memory, published once the RAM block list is read,
/// and the first failure of any channel.
/// </summary>
/// <remarks>
/// Design: the main thread writes <see cref="Blocks"/>, <see cref="BlockNames"/> and <see cref="BlockSizes"/> before it sets
/// the event; the event's set/wait pair orders those writes before a channel's reads. The memory is freed only after every
/// channel thread has been joined.
/// </remarks>
internal sealed class MultifdReceiveState : IDisposable
{
    private readonly ManualResetEventSlim _memoryReady = new(false);
    private Exception? _failure;

    public RamBlock[] Blocks { get; private set; } = [];

    public byte[][] BlockNames { get; private set; } = [];

    public long[] BlockSizes { get; private set; } = [];

    /// <summary>
    /// Set before the channels start: each channel records the pages it wrote since its last SYNC
    /// (<see cref="MultifdReceiveChannel.ReceivedCount"/>), for a relay that writes them on at the section's EOS.
    /// </summary>
    public bool TrackPages { get; init; }

    /// <summary>The first failure any channel reported.</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    public void PublishMemory(GuestMemory memory)
    {
        Blocks = memory.Blocks.ToArray();
        BlockNames = Blocks.Select(b => MultifdFormat.EncodeBlockName(b.Name)).ToArray();
        BlockSizes = Blocks.Select(b => b.Size).ToArray();
        _memoryReady.Set();
    }

    /// <summary>Waits until the memory is published; false if <paramref name="stop"/> became true first.</summary>
    public bool WaitForMemory(Func<bool> stop)
    {
        while (!_memoryReady.Wait(50))
        {
            if (stop())
            {
                return false;
            }
        }

        return true;
    }

    public void ReportFailure(Exception failure)
    {
        // Release: the first failure wins and is visible to the main thread's acquire read.
        if (Interlocked.CompareExchange(ref _failure, failure, null) is null)
        {
            // The main thread may be blocked reading the main channel: wake it (it then reports this failure).
            OnFailure?.Invoke();
        }
    }

    /// <summary>Called once, on the failing channel's thread, at the first failure.</summary>
    public Action? OnFailure { get; set; }

    public void Dispose()
    {
        _memoryReady.Dispose();
    }
}
