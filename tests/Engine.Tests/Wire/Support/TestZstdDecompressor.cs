using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Wire.Support;

/// <summary>A test-only zstd page decompressor over ZstdSharp.</summary>
internal sealed class TestZstdDecompressor : IPageDecompressor
{
    private readonly ZstdSharp.Decompressor _decompressor = new();

    public CompressMethod Method => CompressMethod.Zstd;

    public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
    {
        if (payload.IsEmpty)
        {
            return DecompressStatus.Empty;
        }

        if (payload.Length > PageSizes.ZstdBound)
        {
            return DecompressStatus.TooLong;
        }

        try
        {
            // One byte of room past the page tells "more than a page" from "exactly a page".
            Span<byte> scratch = stackalloc byte[PageSizes.PageSize + 1];
            int length = _decompressor.Unwrap(payload, scratch);
            if (length != PageSizes.PageSize)
            {
                return DecompressStatus.WrongSize;
            }

            scratch[..PageSizes.PageSize].CopyTo(page);
            return DecompressStatus.Ok;
        }
        catch (ZstdSharp.ZstdException)
        {
            return DecompressStatus.Corrupt;
        }
    }

    public void Dispose() => _decompressor.Dispose();
}
