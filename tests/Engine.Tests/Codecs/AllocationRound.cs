using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Codecs;

/// <summary>Compresses and decompresses every page of a mix once, counting the bytes this thread allocates in each call.</summary>
internal sealed class AllocationRound(IPageCompressor compressor, IPageDecompressor decompressor, byte[] mix)
{
    private readonly byte[] _destination = new byte[compressor.MaxCompressedLength];
    private readonly byte[] _page = new byte[PageSizes.PageSize];

    public long CompressBytes { get; private set; }

    public long DecompressBytes { get; private set; }

    public int Compressions { get; private set; }

    public int Decompressions { get; private set; }

    public void Reset()
    {
        CompressBytes = 0;
        DecompressBytes = 0;
        Compressions = 0;
        Decompressions = 0;
    }

    public void Run()
    {
        for (int offset = 0; offset < mix.Length; offset += PageSizes.PageSize)
        {
            ReadOnlySpan<byte> original = mix.AsSpan(offset, PageSizes.PageSize);
            long before = GC.GetAllocatedBytesForCurrentThread();
            CompressResult result = compressor.Compress(original, _destination, out int written);
            long between = GC.GetAllocatedBytesForCurrentThread();
            CompressBytes += between - before;
            Compressions++;
            if (result != CompressResult.Compressed)
            {
                continue;
            }

            DecompressStatus status = decompressor.Decompress(_destination.AsSpan(0, written), _page);
            DecompressBytes += GC.GetAllocatedBytesForCurrentThread() - between;
            Decompressions++;
            if (status != DecompressStatus.Ok || !original.SequenceEqual(_page))
            {
                throw new InvalidOperationException($"the page at {offset} did not round-trip: {status}");
            }
        }
    }
}
