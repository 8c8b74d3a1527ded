using Engine.Codecs;
using Engine.Memory;
using Engine.Tools;
using Engine.Wire;

namespace Engine.Fuzz;

/// <summary>
/// An in-memory <see cref="IRamSink"/> for the reader target. It checks every promise <see cref="IRamSink"/> makes about its
/// calls (one block list before any page, block indices announced, offsets page aligned and inside the block, payload
/// methods as told), decompresses with the production <see cref="PageDecoder"/> into a guard-banded page, and applies
/// XBZRLE deltas.
/// </summary>
/// <remarks>
/// Pages live in a table keyed by (block, offset) over a pool of page arrays kept across inputs: memory follows the pages an
/// input actually sends, not the RAM size its block list announces, so the reader runs with its default 1 TiB cap and the
/// fuzz loop allocates nothing per page once warm. Past <see cref="MaxStoredPages"/> pages are decoded but not stored.
/// </remarks>
internal sealed class BoundedRamSink : IRamSink
{
    /// <summary>16 MiB of pages: far more than a 1 MiB AFL input can carry raw.</summary>
    public const int MaxStoredPages = 4096;

    private readonly PageDecoder _decoder;
    private readonly Dictionary<(int Block, long Offset), byte[]> _pages = new();
    private readonly Stack<byte[]> _free = new();
    private readonly GuardedPage _scratch = new();
    private IReadOnlyList<RamBlockInfo>? _blocks;

    public BoundedRamSink(PageDecoder decoder) => _decoder = decoder;

    /// <summary>Forgets the previous input's pages and blocks, keeping the arrays.</summary>
    public void Reset()
    {
        foreach (byte[] page in _pages.Values)
        {
            _free.Push(page);
        }

        _pages.Clear();
        _blocks = null;
    }

    public void OnBlockList(IReadOnlyList<RamBlockInfo> blocks)
    {
        if (_blocks is not null)
        {
            throw new FuzzContractException("OnBlockList was called twice");
        }

        long total = 0;
        foreach (RamBlockInfo block in blocks)
        {
            if (block.Length <= 0 || block.Length % PageSizes.PageSize != 0)
            {
                throw new FuzzContractException($"block '{block.Name}' has length {block.Length}, not a positive multiple of a page");
            }

            total += block.Length;
        }

        if (total > MigrationStreamReaderOptions.DefaultMaxTotalRamBytes)
        {
            throw new FuzzContractException($"the block list announces {total} bytes, more than MaxTotalRamBytes");
        }

        _blocks = blocks;
    }

    public void OnZeroPage(int block, long offset)
    {
        CheckPage(block, offset, "OnZeroPage");
        if (_pages.TryGetValue((block, offset), out byte[]? page))
        {
            Array.Clear(page);
        }
    }

    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page)
    {
        CheckPage(block, offset, "OnRawPage");
        if (page.Length != PageSizes.PageSize)
        {
            throw new FuzzContractException($"OnRawPage got {page.Length} bytes instead of a page");
        }

        page.CopyTo(PageFor(block, offset));
    }

    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
    {
        CheckPage(block, offset, "OnCompressedPage");
        if (!PayloadFormat.TryDetect(payload, out CompressMethod detected) || detected != method)
        {
            throw new FuzzContractException($"OnCompressedPage was told {method} for a payload that is {detected}");
        }

        if (payload.Length > PayloadFormat.BoundOf(method))
        {
            throw new FuzzContractException($"OnCompressedPage got {payload.Length} bytes of {method}, over its bound {PayloadFormat.BoundOf(method)}");
        }

        _scratch.Reset();
        DecompressStatus status = _decoder.Decompress(payload, _scratch.Span);
        _scratch.AssertGuardsIntact("PageDecoder");
        if (status != DecompressStatus.Ok)
        {
            // What RamImageSink and QEMU's destination do with a page that does not decode: fail the stream there.
            throw new MigrationStreamException(streamOffset, $"expected a payload that decompresses to one page, found: {status}");
        }

        _scratch.Page.CopyTo(PageFor(block, offset));
    }

    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded)
    {
        CheckPage(block, offset, "OnXbzrlePage");
        Span<byte> page = PageFor(block, offset);
        if (!Xbzrle.Decode(encoded, page))
        {
            throw new FuzzContractException("an XBZRLE delta the reader validated failed to decode");
        }
    }

    public void OnEndOfSection()
    {
    }

    private void CheckPage(int block, long offset, string call)
    {
        if (_blocks is null)
        {
            throw new FuzzContractException($"{call} before OnBlockList");
        }

        if ((uint)block >= (uint)_blocks.Count)
        {
            throw new FuzzContractException($"{call} for block {block}, but only {_blocks.Count} were announced");
        }

        long length = _blocks[block].Length;
        if (offset < 0 || offset % PageSizes.PageSize != 0 || offset > length - PageSizes.PageSize)
        {
            throw new FuzzContractException($"{call} at offset 0x{offset:X}, not a page inside block '{_blocks[block].Name}' of 0x{length:X} bytes");
        }
    }

    private Span<byte> PageFor(int block, long offset)
    {
        if (_pages.TryGetValue((block, offset), out byte[]? page))
        {
            return page;
        }

        if (_pages.Count == MaxStoredPages)
        {
            // Over the cap the content is dropped; a later XBZRLE delta for this page then applies to garbage, which is
            // still a valid test of the decoder.
            return _scratch.Span;
        }

        page = _free.Count > 0 ? _free.Pop() : new byte[PageSizes.PageSize];

        // A page never sent reads back as zero, as in a fresh guest.
        Array.Clear(page);
        _pages.Add((block, offset), page);
        return page;
    }
}
