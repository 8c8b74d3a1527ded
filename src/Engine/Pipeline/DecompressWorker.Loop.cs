using System.Globalization;
using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>The decompress thread's loop.</summary>
internal sealed unsafe partial class DecompressWorker
{
    private void Run()
    {
        int slot = -1;
        try
        {
            var workOrStop = new WorkOrStop(Work, _stop);
            while (!_stop.IsStopRequested)
            {
                if (!Work.TryPeek(out DecompressWorkItem item))
                {
                    Parker.Wait(ref workOrStop);
                    continue;
                }

                slot = Work.SlotOf(Work.ConsumerPosition);
                Apply(in item, slot);
                slot = -1;

                // Single writer: a plain increment published with release, for statistics only.
                Volatile.Write(ref _appliedPages, _appliedPages + 1);

                // Only now is the page written and the payload slot free: hand the slot back.
                Work.Advance();
            }
        }
        catch (Exception e)
        {
            _stop.Fail(DescribeFailure(slot, e));
        }
    }

    private void Apply(in DecompressWorkItem item, int slot)
    {
        // Exactly the destination page: a decoder cannot write past it whatever the payload says.
        var page = new Span<byte>(item.Destination, PageSizes.PageSize);
        switch (item.Kind)
        {
            case PageResultKind.Zero:
                // As QEMU: only write when needed, so untouched destination pages stay untouched (and unallocated).
                if (!ZeroPage.IsZero(page))
                {
                    page.Clear();
                }

                break;
            case PageResultKind.Raw:
                PageCopy.CopyTo(new ReadOnlySpan<byte>(SlotPointer(slot), PageSizes.PageSize), page);
                break;
            default:
                DecompressStatus status = _decompressor.Decompress(new ReadOnlySpan<byte>(SlotPointer(slot), item.Length), page);
                if (status != DecompressStatus.Ok)
                {
                    throw new PageFailure(
                        string.Create(CultureInfo.InvariantCulture, $"a {item.Length}-byte compressed payload did not decompress to one page"), status);
                }

                break;
        }
    }

    private EngineException DescribeFailure(int slot, Exception e)
    {
        (string reason, DecompressStatus? status, Exception? inner) = e is PageFailure failure
            ? ($"decompress worker {_index}: {failure.Message}", failure.Status, null)
            : ($"decompress worker {_index} failed: {e.Message}", (DecompressStatus?)null, e);
        if (slot < 0 || _slotBlocks[slot] is not RamBlock block)
        {
            return new EngineException(reason, inner);
        }

        // A payload from a stream that does not decode is the stream's fault: the exception carries where in the stream it
        // is, and the receive loop reports it as a stream error there (the same error whichever tool read the stream).
        long streamOffset = _slotStreamOffsets[slot];
        return e is PageFailure bad && streamOffset >= 0
            ? new PageException(
                block.Name,
                _slotOffsets[slot],
                string.Create(CultureInfo.InvariantCulture, $"expected a compressed payload that decompresses to exactly one 4096-byte page (block '{block.Name}', offset 0x{_slotOffsets[slot]:X}), found: {bad.Status}"),
                bad.Status,
                streamOffset)
            : new PageException(block.Name, _slotOffsets[slot], reason, status, inner);
    }

    /// <summary>A page the worker could not apply; turned into a <see cref="PageException"/> naming the page.</summary>
    private sealed class PageFailure(string message, DecompressStatus status) : Exception(message)
    {
        public DecompressStatus Status { get; } = status;
    }

    /// <summary>The worker's wait condition: work has arrived, or the engine is stopping.</summary>
    private readonly struct WorkOrStop(SpscRing<DecompressWorkItem> work, StopSignal stop) : IWaitCondition
    {
        public bool IsSatisfied() => !work.IsEmpty || stop.IsStopRequested;
    }
}
