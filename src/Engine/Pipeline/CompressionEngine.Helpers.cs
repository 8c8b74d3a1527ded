using Engine.Codecs;
using Engine.Memory;

namespace Engine.Pipeline;

/// <summary>The submit/receive/release loop, wrapped around a handler.</summary>
public sealed partial class CompressionEngine
{
    /// <summary>
    /// Submits one page; when it cannot be accepted at once, hands the oldest results to <paramref name="handler"/> (waiting
    /// for them as needed) until it can. Then hands over every result that is already ready. Each result is released when
    /// the handler returns. The caller must not hold unreleased results. A <see cref="Dispose"/> from another thread
    /// waits for a running handler before it frees the bytes the handler reads.
    /// </summary>
    internal void Submit(RamBlock block, long offset, PageResultHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        while (!TrySubmit(block, offset))
        {
            HandOver(Receive(), handler);
        }

        while (TryReceive(out PageResult result))
        {
            HandOver(result, handler);
        }
    }

    /// <summary>Waits for every page in flight and hands each result to <paramref name="handler"/>, in order (QEMU's <c>flush_compressed_data</c>).</summary>
    internal void Drain(PageResultHandler handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        while (InFlight > 0)
        {
            HandOver(Receive(), handler);
        }
    }

    /// <summary>Compresses every page of <paramref name="block"/>, handing the results to <paramref name="handler"/> in page order.</summary>
    internal void CompressBlock(RamBlock block, PageResultHandler handler)
    {
        ArgumentNullException.ThrowIfNull(block);
        for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
        {
            Submit(block, offset, handler);
        }

        Drain(handler);
    }

    /// <summary>Compresses every page of every block of <paramref name="memory"/>, in block and page order.</summary>
    internal void CompressAll(GuestMemory memory, PageResultHandler handler)
    {
        ArgumentNullException.ThrowIfNull(memory);
        // Indexed, not foreach: the list's interface enumerator would be boxed.
        for (int i = 0; i < memory.Blocks.Count; i++)
        {
            RamBlock block = memory.Blocks[i];
            for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
            {
                Submit(block, offset, handler);
            }
        }

        Drain(handler);
    }

    private void HandOver(in PageResult result, PageResultHandler handler)
    {
        // Inside the gate, a Dispose on another thread waits for the handler before it frees the bytes it reads.
        if (!_lifetime.Gate.TryEnter(_stop))
        {
            _lifetime.HandleStop();
        }

        try
        {
            handler(in result);
        }
        finally
        {
            _lifetime.Gate.Exit();
            Release(in result);
        }
    }
}
