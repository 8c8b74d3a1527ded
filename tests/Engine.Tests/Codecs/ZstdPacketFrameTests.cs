using Engine.Codecs;
using Engine.Fuzz;
using Engine.Memory;
using Xunit;

namespace Engine.Tests.Codecs;

/// <summary>
/// multifd zstd's two stream shapes on one receiving channel's decoder: Engine's frame per packet and QEMU's one frame per
/// channel that never ends, both decoded byte-exact; a frame that ends inside a page refused.
/// </summary>
public sealed unsafe class ZstdPacketFrameTests
{
    /// <summary>Packets of 1, 3, 128 (a full packet) and 40 pages; the last repeats pages of the first, which only history across packets could reuse.</summary>
    private static readonly int[] PacketSizes = [1, 3, 128, 40];

    [Fact]
    public void EnginesPacketsAreEachOneCompleteFrameAndDecodeByteExact()
    {
        using var compressor = new ZstdPacketCompressor(1);
        using var decompressor = new ZstdPacketDecompressor();
        int packet = 0;
        foreach (byte[] pages in Packets())
        {
            int count = pages.Length / PageSizes.PageSize;
            byte[] payload = Compress(compressor, pages, count);

            // One frame, exactly the payload, stating the packet's size: the next packet starts a frame of its own.
            fixed (byte* p = payload)
            {
                Assert.Equal((nuint)payload.Length, Interop.ZSTD_findFrameCompressedSize(p, (nuint)payload.Length));
                Assert.Equal((ulong)pages.Length, Interop.ZSTD_getFrameContentSize(p, (nuint)payload.Length));
            }

            Assert.True(Decode(decompressor, payload, count, out byte[] decoded, out string? error), $"packet {packet}: {error}");
            Assert.True(decoded.AsSpan().SequenceEqual(pages), $"packet {packet} decoded differently");
            packet++;
        }
    }

    [Fact]
    public void QemusEndlessFrameStillDecodesByteExact()
    {
        using PacketCompressor compressor = ZstdStreamPacketCompressor.CreateQemuShaped(CompressMethod.Zstd, 1)!;
        using var decompressor = new ZstdPacketDecompressor();
        int packet = 0;
        foreach (byte[] pages in Packets())
        {
            int count = pages.Length / PageSizes.PageSize;
            byte[] payload = Compress(compressor, pages, count);

            // QEMU's packet is flushed, never ended: not a complete frame on its own.
            fixed (byte* p = payload)
            {
                Assert.NotEqual(0u, Interop.ZSTD_isError(Interop.ZSTD_findFrameCompressedSize(p, (nuint)payload.Length)));
            }

            Assert.True(Decode(decompressor, payload, count, out byte[] decoded, out string? error), $"packet {packet}: {error}");
            Assert.True(decoded.AsSpan().SequenceEqual(pages), $"packet {packet} decoded differently");
            packet++;
        }
    }

    [Fact]
    public void EnginesFramesCostLittleAgainstQemusHistoryOnAMixOfPages()
    {
        // What the frame per packet gives up: history across packets. On pages that repeat nothing across packets the two
        // shapes are within a few percent (the guest's RAM: docs/PERFORMANCE.md).
        using var engine = new ZstdPacketCompressor(1);
        using PacketCompressor qemu = ZstdStreamPacketCompressor.CreateQemuShaped(CompressMethod.Zstd, 1)!;
        long engineBytes = 0;
        long qemuBytes = 0;
        for (int packet = 0; packet < 6; packet++)
        {
            byte[] pages = MixedPages(128, seed: (ulong)(100 + packet));
            engineBytes += Compress(engine, pages, 128).Length;
            qemuBytes += Compress(qemu, pages, 128).Length;
        }

        Assert.InRange(engineBytes, qemuBytes * 95 / 100, qemuBytes * 110 / 100);
    }

    [Fact]
    public void AFrameEndingAtAPageInsideAPacketIsTakenAndTheNextFrameGoesOn()
    {
        // Two frames for one packet of two pages, the first ending with page 1: a receiver's page loop (QEMU's too) stops
        // there and the next page starts the next frame.
        byte[] pages = MixedPages(2, seed: 7);
        byte[] payload = [.. Frame(pages.AsSpan(0, PageSizes.PageSize)), .. Frame(pages.AsSpan(PageSizes.PageSize))];
        using var decompressor = new ZstdPacketDecompressor();

        Assert.True(Decode(decompressor, payload, 2, out byte[] decoded, out string? error), error);
        Assert.True(decoded.AsSpan().SequenceEqual(pages));
    }

    [Fact]
    public void AFrameEndingInsideAPageIsRefused()
    {
        // Frames of a page and a half and of half a page: together the packet's two pages, but the first frame ends 2048
        // bytes into page 2, which QEMU's receiver would misplace.
        byte[] pages = MixedPages(2, seed: 8);
        int split = PageSizes.PageSize + (PageSizes.PageSize / 2);
        byte[] payload = [.. Frame(pages.AsSpan(0, split)), .. Frame(pages.AsSpan(split))];
        using var decompressor = new ZstdPacketDecompressor();

        Assert.False(Decode(decompressor, payload, 2, out _, out string? error));
        Assert.Equal("a zstd frame ended 2048 bytes into a page: a multifd frame may end only at the end of a page", error);
    }

    [Fact]
    public void AFrameAfterThePacketsPagesIsRefused()
    {
        // The packet's pages are one frame; a second frame (a third page) follows within the payload: more data than pages.
        byte[] pages = MixedPages(3, seed: 9);
        byte[] payload = [.. Frame(pages.AsSpan(0, 2 * PageSizes.PageSize)), .. Frame(pages.AsSpan(2 * PageSizes.PageSize))];
        using var decompressor = new ZstdPacketDecompressor();

        Assert.False(Decode(decompressor, payload, 2, out _, out string? error));
        Assert.StartsWith("the compressed data holds more than the packet's pages", error);
    }

    /// <summary>The packets of <see cref="PacketSizes"/>: the named test pages in turn, the last packet repeating the first's.</summary>
    private static IEnumerable<byte[]> Packets()
    {
        byte[]? first = null;
        ulong seed = 1;
        foreach (int count in PacketSizes)
        {
            byte[] pages = MixedPages(count, seed);
            first ??= pages;
            if (count > first.Length / PageSizes.PageSize)
            {
                first.CopyTo(pages, PageSizes.PageSize);
            }

            yield return pages;
            seed += (ulong)count;
        }
    }

    /// <summary><paramref name="count"/> pages one after another, of every named kind in turn.</summary>
    private static byte[] MixedPages(int count, ulong seed)
    {
        byte[] pages = new byte[count * PageSizes.PageSize];
        for (int i = 0; i < count; i++)
        {
            TestPages.Create(TestPages.Names[i % TestPages.Names.Length], seed + (ulong)i).CopyTo(pages, i * PageSizes.PageSize);
        }

        return pages;
    }

    private static byte[] Compress(PacketCompressor compressor, byte[] pages, int count)
    {
        byte[] output = new byte[PacketCompressor.OutputBound];
        fixed (byte* input = pages)
        fixed (byte* o = output)
        {
            return output.AsSpan(0, compressor.CompressPacket(input, count, o)).ToArray();
        }
    }

    /// <summary>One complete zstd-1 frame of <paramref name="data"/> (any length).</summary>
    private static byte[] Frame(ReadOnlySpan<byte> data)
    {
        using var context = ZstdContextHandle.CreateCompression(1);
        byte[] output = new byte[(int)Interop.ZSTD_compressBound((nuint)data.Length)];
        fixed (byte* src = data)
        fixed (byte* dst = output)
        {
            nuint size = Interop.ZSTD_compress2(context.DangerousGetHandle(), dst, (nuint)output.Length, src, (nuint)data.Length);
            Assert.Equal(0u, Interop.ZSTD_isError(size));
            return output.AsSpan(0, (int)size).ToArray();
        }
    }

    /// <summary>Decodes one packet's payload of <paramref name="count"/> pages as a receiving channel does: Begin, a page at a time, End.</summary>
    private static bool Decode(ZstdPacketDecompressor decompressor, byte[] payload, int count, out byte[] pages, out string? error)
    {
        pages = new byte[count * PageSizes.PageSize];
        fixed (byte* input = payload)
        fixed (byte* output = pages)
        {
            decompressor.Begin(input, payload.Length);
            for (int i = 0; i < count; i++)
            {
                if (!decompressor.DecodePage(output + ((long)i * PageSizes.PageSize), last: i == count - 1))
                {
                    error = decompressor.Error;
                    return false;
                }
            }

            bool ended = decompressor.End();
            error = decompressor.Error;
            return ended;
        }
    }
}
