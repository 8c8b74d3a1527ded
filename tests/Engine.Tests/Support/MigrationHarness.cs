using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Xunit;

namespace Engine.Tests.Support;

/// <summary>
/// A source guest memory, a compression engine, a decompression engine and a destination guest memory of the same
/// layout, wired together in one process the way a writer and a reader would be: every result goes, in the order it
/// comes back, to the destination engine.
/// </summary>
internal sealed class MigrationHarness : IDisposable
{
    private readonly Dictionary<RamBlock, RamBlock> _destinationOf = new();
    private readonly Dictionary<RamBlock, int> _indexOf = new();
    private readonly PageResultHandler _apply;

    public MigrationHarness(
        CompressionEngineOptions compression,
        DecompressionEngineOptions decompression,
        Func<IPageCompressor>? compressorFactory = null,
        Func<IPageDecompressor>? decompressorFactory = null)
    {
        _apply = Apply;
        try
        {
            Compressor = new CompressionEngine(compression, compressorFactory);
            Decompressor = new DecompressionEngine(decompression, decompressorFactory);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public GuestMemory Source { get; } = new();

    public GuestMemory Destination { get; } = new();

    public CompressionEngine Compressor { get; } = null!;

    public DecompressionEngine Decompressor { get; } = null!;

    /// <summary>Pages handed to the destination so far.</summary>
    public long Applied { get; private set; }

    public RamBlock AddBlock(string name, long size)
    {
        RamBlock source = Source.AddBlock(name, size);
        _destinationOf.Add(source, Destination.AddBlock(name, size));
        _indexOf.Add(source, _indexOf.Count);
        return source;
    }

    /// <summary>Writes version <paramref name="version"/> of the page's content (kind from the mix) into the source.</summary>
    public void WritePage(RamBlock block, long offset, int version, PageKind? kind = null)
    {
        long page = offset / PageSizes.PageSize;
        PagePool.Write(block.GetPage(offset), kind ?? PagePool.KindOf(page, version), version, PagePool.TagOf(_indexOf[block], offset));
    }

    /// <summary>Fills every page of every source block with version <paramref name="version"/>.</summary>
    public void WriteAll(int version)
    {
        foreach (RamBlock block in Source.Blocks)
        {
            for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
            {
                WritePage(block, offset, version);
            }
        }
    }

    public void Send(RamBlock block, long offset) => Compressor.Submit(block, offset, _apply);

    public void SendAll()
    {
        // Indexed, not foreach: an interface enumerator would be the only allocation of a steady-state pass.
        for (int i = 0; i < Source.Blocks.Count; i++)
        {
            RamBlock block = Source.Blocks[i];
            for (long offset = 0; offset < block.Size; offset += PageSizes.PageSize)
            {
                Send(block, offset);
            }
        }
    }

    /// <summary>The end of a section: every page sent is received and applied.</summary>
    public void EndSection()
    {
        Compressor.Drain(_apply);
        Decompressor.WaitForDone();
    }

    /// <summary>Asserts that the destination is byte-identical to the source, naming the first page that differs.</summary>
    public void AssertIdentical()
    {
        foreach (RamBlock source in Source.Blocks)
        {
            RamBlock destination = _destinationOf[source];
            for (long offset = 0; offset < source.Size; offset += PageSizes.PageSize)
            {
                if (!source.GetPage(offset).SequenceEqual(destination.GetPage(offset)))
                {
                    Assert.Fail($"page 0x{offset:x} of '{source.Name}' differs between source and destination");
                }
            }
        }
    }

    public void Dispose()
    {
        // Engines first: their workers read and write the guest memories.
        Compressor?.Dispose();
        Decompressor?.Dispose();
        Source.Dispose();
        Destination.Dispose();
    }

    private void Apply(in PageResult result)
    {
        RamBlock destination = _destinationOf[result.Block];
        switch (result.Kind)
        {
            case PageResultKind.Zero:
                Decompressor.SubmitZero(destination, result.Offset);
                break;
            case PageResultKind.Compressed:
                Decompressor.SubmitCompressed(destination, result.Offset, result.Bytes);
                break;
            default:
                Decompressor.SubmitRaw(destination, result.Offset, result.Bytes);
                break;
        }

        Applied++;
    }
}
