using Xunit;
using Engine.Codecs;
using Engine.Memory;
using Engine.Tools;
using Engine.Wire;

namespace Engine.Tests.Wire.Support;

/// <summary>An in-memory <see cref="IRamSink"/>: one byte array per block, decompressing synchronously.</summary>
internal sealed class MemoryRamSink : IRamSink
{
    private readonly Func<CompressMethod, IPageDecompressor> _decompressors;

    public MemoryRamSink(Func<CompressMethod, IPageDecompressor>? decompressors = null)
    {
        _decompressors = decompressors ?? TestCodecs.Decompressor;
    }

    public List<RamBlockInfo> Blocks { get; } = new();

    public List<byte[]> Memory { get; } = new();

    public int Sections { get; private set; }

    public void OnBlockList(IReadOnlyList<RamBlockInfo> blocks)
    {
        foreach (RamBlockInfo block in blocks)
        {
            Blocks.Add(block);
            Memory.Add(new byte[block.Length]);
        }
    }

    public void OnZeroPage(int block, long offset) => Page(block, offset).Clear();

    public void OnRawPage(int block, long offset, ReadOnlySpan<byte> page) => page.CopyTo(Page(block, offset));

    public void OnCompressedPage(int block, long offset, CompressMethod method, ReadOnlySpan<byte> payload, long streamOffset)
    {
        using IPageDecompressor decompressor = _decompressors(method);
        DecompressStatus status = decompressor.Decompress(payload, Page(block, offset));
        if (status != DecompressStatus.Ok)
        {
            throw new MigrationStreamException(streamOffset, $"page does not decompress: {status}");
        }
    }

    public void OnXbzrlePage(int block, long offset, ReadOnlySpan<byte> encoded)
        => Assert.True(Xbzrle.Decode(encoded, Page(block, offset)));

    public void OnEndOfSection() => Sections++;

    private Span<byte> Page(int block, long offset) => Memory[block].AsSpan((int)offset, PageSizes.PageSize);
}
