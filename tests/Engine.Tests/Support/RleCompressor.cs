using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Support;

/// <summary>
/// A trivial run-length codec for tests that must not depend on zlib or zstd: payload <c>0xA5</c>, then (run, value)
/// pairs. Sparse and same-byte pages shrink; text and random pages come back as "send raw".
/// </summary>
internal sealed class RleCompressor(CompressMethod method = CompressMethod.Zstd) : IPageCompressor
{
    public const byte Magic = 0xA5;

    public CompressMethod Method { get; } = method;

    public int Level => 1;

    public int MaxCompressedLength => PageSizes.PageSize;

    public CompressResult Compress(ReadOnlySpan<byte> page, Span<byte> destination, out int written)
    {
        written = 0;
        if (destination.Length < MaxCompressedLength)
        {
            return CompressResult.DestinationTooSmall;
        }

        int o = 0;
        destination[o++] = Magic;
        for (int i = 0; i < page.Length;)
        {
            byte value = page[i];
            int run = 1;
            while (i + run < page.Length && run < 255 && page[i + run] == value)
            {
                run++;
            }

            if (o + 2 >= PageSizes.PageSize)
            {
                return CompressResult.SendRaw;
            }

            destination[o++] = (byte)run;
            destination[o++] = value;
            i += run;
        }

        written = o;
        return CompressResult.Compressed;
    }

    public void Dispose()
    {
    }
}
