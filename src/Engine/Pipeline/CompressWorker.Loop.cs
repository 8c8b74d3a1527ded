using System.Globalization;
using Engine.Codecs;
using Engine.Memory;
using Engine.Threading;

namespace Engine.Pipeline;

/// <summary>The compress thread's loop.</summary>
internal sealed unsafe partial class CompressWorker
{
    private void Run()
    {
        int slot = -1;
        int current = -1;
        try
        {
            var workOrStop = new WorkOrStop(Work, _stop);
            while (!_stop.IsStopRequested)
            {
                if (!Work.TryDequeue(out CompressWorkItem item))
                {
                    Parker.Wait(ref workOrStop);
                    continue;
                }

                slot = item.Slot;
                int first = item.Slot * _batch;
                for (current = 0; current < item.Count; current++)
                {
                    _outcomes[first + current] = Process((byte*)_slotSources[first + current], SlotPointer(item.Slot, current));
                }

                if (!Results.TryEnqueue(item))
                {
                    // Cannot happen while the caller keeps to its credit; if it does, stop rather than lose a page.
                    throw new EngineException($"compress worker {_index}: result ring full, the caller exceeded its credit");
                }

                slot = -1;
            }
        }
        catch (Exception e)
        {
            _stop.Fail(DescribeFailure(slot, current, e));
        }
    }

    private CompressOutcome Process(byte* source, byte* slot)
    {
        // Copy first: the guest may be writing this page right now. Everything below looks only at the copy, so the zero
        // verdict, the payload and a raw page all describe one snapshot, and the codec never reads memory that changes
        // under it (QEMU before 3.0 compressed the live page and produced corrupt streams).
        var page = new Span<byte>(_input, PageSizes.PageSize);
        new ReadOnlySpan<byte>(source, PageSizes.PageSize).CopyTo(page);

        CompressOutcome outcome;
        if (ZeroPage.IsZero(page))
        {
            outcome = new CompressOutcome(PageResultKind.Zero, CompressMethod.None, 0);
        }
        else if (_compressor is null)
        {
            page.CopyTo(new Span<byte>(slot, PageSizes.PageSize));
            outcome = new CompressOutcome(PageResultKind.Raw, CompressMethod.None, PageSizes.PageSize);
        }
        else
        {
            CompressResult result = _compressor.Compress(page, new Span<byte>(slot, SlotCapacity), out int written);
            if (result == CompressResult.Compressed && written > 0 && written < PageSizes.PageSize)
            {
                outcome = new CompressOutcome(PageResultKind.Compressed, _method, written);
            }
            else if (result == CompressResult.SendRaw)
            {
                // The snapshot, not the live page: the writer sends exactly what was checked.
                page.CopyTo(new Span<byte>(slot, PageSizes.PageSize));
                outcome = new CompressOutcome(PageResultKind.Raw, CompressMethod.None, PageSizes.PageSize);
            }
            else
            {
                throw new EngineException(string.Create(
                    CultureInfo.InvariantCulture,
                    $"the {CompressionSettings.NameOf(_method)} compressor returned {result} with {written} bytes into a {SlotCapacity}-byte slot"));
            }
        }

        return outcome;
    }

    private EngineException DescribeFailure(int slot, int page, Exception e)
    {
        string reason = $"compress worker {_index} failed: {e.Message}";
        return slot >= 0 && page >= 0 && page < _batch && _slotBlocks[slot] is RamBlock block
            ? new PageException(block.Name, _slotOffsets[(slot * _batch) + page], reason, null, e)
            : new EngineException(reason, e);
    }

    /// <summary>The worker's wait condition: work has arrived, or the engine is stopping.</summary>
    private readonly struct WorkOrStop(SpscRing<CompressWorkItem> work, StopSignal stop) : IWaitCondition
    {
        public bool IsSatisfied() => !work.IsEmpty || stop.IsStopRequested;
    }
}
