using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Support;

/// <summary>The decoder of <see cref="RleCompressor"/>; never writes past the page, whatever the payload.</summary>
internal sealed class RleDecompressor(CompressMethod method = CompressMethod.Zstd) : IPageDecompressor
{
    public CompressMethod Method { get; } = method;

    public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
    {
        if (page.Length < PageSizes.PageSize)
        {
            return DecompressStatus.DestinationTooSmall;
        }

        if (payload.IsEmpty)
        {
            return DecompressStatus.Empty;
        }

        if (payload[0] != RleCompressor.Magic)
        {
            return DecompressStatus.UnknownFormat;
        }

        if ((payload.Length & 1) == 0)
        {
            return DecompressStatus.Corrupt;
        }

        int o = 0;
        for (int i = 1; i < payload.Length; i += 2)
        {
            int run = payload[i];
            if (run == 0)
            {
                return DecompressStatus.Corrupt;
            }

            if (o + run > PageSizes.PageSize)
            {
                return DecompressStatus.WrongSize;
            }

            page.Slice(o, run).Fill(payload[i + 1]);
            o += run;
        }

        return o == PageSizes.PageSize ? DecompressStatus.Ok : DecompressStatus.WrongSize;
    }

    public void Dispose()
    {
    }
}
