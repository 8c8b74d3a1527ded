using System.IO.Compression;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Wire.Support;

/// <summary>A test-only zlib page decompressor over System.IO.Compression's ZLibStream.</summary>
internal sealed class TestZlibDecompressor : IPageDecompressor
{
    public CompressMethod Method => CompressMethod.Zlib;

    public unsafe DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
    {
        if (payload.IsEmpty)
        {
            return DecompressStatus.Empty;
        }

        if (payload.Length > PageSizes.ZlibBound)
        {
            return DecompressStatus.TooLong;
        }

        try
        {
            fixed (byte* p = payload)
            {
                using var input = new UnmanagedMemoryStream(p, payload.Length);
                using var zlib = new ZLibStream(input, CompressionMode.Decompress);
                int total = 0;
                while (total < PageSizes.PageSize)
                {
                    int read = zlib.Read(page[total..PageSizes.PageSize]);
                    if (read == 0)
                    {
                        return DecompressStatus.WrongSize;
                    }

                    total += read;
                }

                Span<byte> extra = stackalloc byte[1];
                return zlib.Read(extra) == 0 ? DecompressStatus.Ok : DecompressStatus.WrongSize;
            }
        }
        catch (InvalidDataException)
        {
            return DecompressStatus.Corrupt;
        }
    }

    public void Dispose()
    {
    }
}
