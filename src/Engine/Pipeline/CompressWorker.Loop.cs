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
        // The zero check reads the page where it is; only a page with data is copied, and everything after the check
        // looks only at that copy, so the payload and a raw page describe one snapshot and the codec never reads
        // memory that changes under it (QEMU before 3.0 compressed the live page and produced corrupt streams). Most
        // pages of a guest are zero, and copying them only to find them zero was most of the copies' work. A page the
        // guest writes while it is checked may be judged either way, as in the multifd channel's in-place check: the
        // write is in the dirty log's next sync, so the page is sent again, and in the last round the guest is paused.
        if (ZeroPage.IsZero(new ReadOnlySpan<byte>(source, PageSizes.PageSize)))
        {
            return new CompressOutcome(PageResultKind.Zero, CompressMethod.None, 0);
        }

        if (_compressor is null)
        {
            // Method none: the one copy goes straight to the slot the writer sends.
            new ReadOnlySpan<byte>(source, PageSizes.PageSize).CopyTo(new Span<byte>(slot, PageSizes.PageSize));
            return new CompressOutcome(PageResultKind.Raw, CompressMethod.None, PageSizes.PageSize);
        }

        var page = new Span<byte>(_input, PageSizes.PageSize);
        new ReadOnlySpan<byte>(source, PageSizes.PageSize).CopyTo(page);

        CompressResult result = _compressor.Compress(page, new Span<byte>(slot, SlotCapacity), out int written);
        if (result == CompressResult.Compressed && written > 0 && written < PageSizes.PageSize)
        {
            return new CompressOutcome(PageResultKind.Compressed, _method, written);
        }

        if (result == CompressResult.SendRaw)
        {
            // The copy, not the live page: the writer sends exactly what the codec was given.
            page.CopyTo(new Span<byte>(slot, PageSizes.PageSize));
            return new CompressOutcome(PageResultKind.Raw, CompressMethod.None, PageSizes.PageSize);
        }

        throw new EngineException(string.Create(
            CultureInfo.InvariantCulture,
            $"the {CompressionSettings.NameOf(_method)} compressor returned {result} with {written} bytes into a {SlotCapacity}-byte slot"));
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
