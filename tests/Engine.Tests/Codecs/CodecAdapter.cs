using Engine.Codecs;

namespace Engine.Tests.Codecs;

/// <summary>How the contract suite drives one codec: how to make its compressor and decompressor, and what it promises.</summary>
public sealed class CodecAdapter
{
    public required string Name { get; init; }

    public required CompressMethod Method { get; init; }

    public required Func<int, IPageCompressor> CreateCompressor { get; init; }

    public required Func<IPageDecompressor> CreateDecompressor { get; init; }

    public required int[] ValidLevels { get; init; }

    public required int[] InvalidLevels { get; init; }

    public int DefaultLevel { get; init; } = CompressionSettings.DefaultLevel;

    /// <summary>Compress and decompress allocate nothing per page once warm.</summary>
    public bool AllocationFree { get; init; }

    /// <summary>A payload of the other method is rejected (single-method decompressors, strict decoders).</summary>
    public bool RejectsOtherMethod { get; init; } = true;

    /// <summary>The format carries a checksum of the data (zlib's Adler-32), so a flipped bit never yields a wrong page.</summary>
    public bool Checksummed { get; init; }

    public CompressMethod OtherMethod => Method == CompressMethod.Zlib ? CompressMethod.Zstd : CompressMethod.Zlib;

    public override string ToString() => Name;
}
