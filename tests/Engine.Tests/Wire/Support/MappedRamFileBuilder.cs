using System.Buffers.Binary;
using System.Text;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Tests.Wire.Support;

/// <summary>
/// Writes QEMU mapped-ram files as QEMU 9.0+ lays them out (docs/devel/migration/mapped-ram.rst): header, configuration
/// with the capabilities subsection listing mapped-ram, RAM START with the block list where each entry is followed by its
/// MappedRamHeader, bitmap and pages region at a page-aligned offset, EOS; then PART and END holding only EOS; EOF.
/// Every header field can be overridden, and where each lands is recorded, so tests can assert the offset of an error.
/// </summary>
internal sealed class MappedRamFileBuilder
{
    public List<BlockSpec> Blocks { get; } = new();

    /// <summary>Bytes before the QEVM header (a caller's header, as libvirt writes); the offsets in the file count them.</summary>
    public int Prefix { get; init; }

    /// <summary>Alignment of each pages region (QEMU uses 1 MiB; its loader needs only page alignment).</summary>
    public int Alignment { get; init; } = PageSizes.PageSize;

    /// <summary>Capabilities listed before mapped-ram in the configuration's capabilities subsection.</summary>
    public string[] OtherCapabilities { get; init; } = [];

    /// <summary>Writes extra records into the PART section before its EOS (e.g. a PAGE record QEMU would refuse).</summary>
    public Action<MemoryStream>? InPart { get; init; }

    /// <summary>After <see cref="Build"/>: the stream offset (file offset minus <see cref="Prefix"/>) of each block's MappedRamHeader.</summary>
    public List<long> HeaderOffsets { get; } = new();

    /// <summary>After <see cref="Build"/>: the stream offset of the first record <see cref="InPart"/> wrote.</summary>
    public long InPartOffset { get; private set; }

    /// <summary>After <see cref="Build"/>: each block's memory as a loader must rebuild it (present pages, zeros elsewhere).</summary>
    public List<byte[]> Expected { get; } = new();

    public MappedRamFileBuilder Block(string name, int pages, Func<int, byte[]?> content, Action<BlockSpec>? tweak = null)
    {
        var spec = new BlockSpec(name, pages, content);
        tweak?.Invoke(spec);
        Blocks.Add(spec);
        return this;
    }

    public byte[] Build()
    {
        HeaderOffsets.Clear();
        Expected.Clear();
        var file = new MemoryStream();
        file.Write(new byte[Prefix]);
        Be32(file, 0x5145564D);
        Be32(file, 3);
        file.WriteByte(0x07);
        Be32(file, 11);
        file.Write("pc-q35-10.0"u8);
        file.WriteByte(0x05);
        Counted(file, "configuration/capabilities");
        Be32(file, 1);
        Be32(file, (uint)OtherCapabilities.Length + 1);
        foreach (string capability in OtherCapabilities)
        {
            Counted(file, capability);
        }

        Counted(file, "mapped-ram");
        file.WriteByte(0x01);
        Be32(file, 2);
        Counted(file, "ram");
        Be32(file, 0);
        Be32(file, 4);
        Be64(file, (ulong)Blocks.Sum(b => (long)b.Pages * PageSizes.PageSize) | 0x04);
        foreach (BlockSpec block in Blocks)
        {
            long length = (long)block.Pages * PageSizes.PageSize;
            Counted(file, block.Name);
            Be64(file, (ulong)length);
            if (OtherCapabilities.Contains("x-ignore-shared"))
            {
                Be64(file, 0x100000000UL * (ulong)(HeaderOffsets.Count + 1)); // the block's guest address
            }

            long header = file.Position;
            HeaderOffsets.Add(header - Prefix);
            long bitmapOffset = header + 28;
            int bitmapSize = (block.Pages + 63) / 64 * 8;
            long pagesOffset = (bitmapOffset + bitmapSize + Alignment - 1) / Alignment * Alignment;
            Be32(file, block.Version);
            Be64(file, block.PageSize);
            Be64(file, block.BitmapOffset ?? (ulong)bitmapOffset);
            Be64(file, block.PagesOffset?.Invoke((ulong)pagesOffset) ?? (ulong)pagesOffset);
            var bitmap = new byte[bitmapSize];
            var expected = new byte[length];
            var pages = new byte[length];
            for (int i = 0; i < block.Pages; i++)
            {
                byte[]? page = block.Content(i);
                if (page is not null)
                {
                    bitmap[i / 8] |= (byte)(1 << (i % 8));
                    page.CopyTo(expected, (long)i * PageSizes.PageSize);
                    page.CopyTo(pages, (long)i * PageSizes.PageSize);
                }
                else if (block.StaleWhereClear)
                {
                    // A page that was written once, then became zero: its bit is clear, its old bytes stay in the file.
                    StreamBuilder.RandomPage(1000 + i).CopyTo(pages, (long)i * PageSizes.PageSize);
                }
            }

            block.ExtraBitmapBits?.Invoke(bitmap);
            file.Write(bitmap);
            file.Write(new byte[pagesOffset - file.Position]);
            file.Write(pages);
            Expected.Add(expected);
        }

        Be64(file, 0x10);
        Footer(file);
        file.WriteByte(0x02);
        Be32(file, 2);
        InPartOffset = file.Position - Prefix;
        InPart?.Invoke(file);
        Be64(file, 0x10);
        Footer(file);
        file.WriteByte(0x03);
        Be32(file, 2);
        Be64(file, 0x10);
        Footer(file);
        file.WriteByte(0x00);
        return file.ToArray();
    }

    public static void Be32(Stream s, uint value)
    {
        Span<byte> b = stackalloc byte[4];
        BinaryPrimitives.WriteUInt32BigEndian(b, value);
        s.Write(b);
    }

    public static void Be64(Stream s, ulong value)
    {
        Span<byte> b = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(b, value);
        s.Write(b);
    }

    private static void Counted(Stream s, string value)
    {
        s.WriteByte((byte)value.Length);
        s.Write(Encoding.ASCII.GetBytes(value));
    }

    private static void Footer(Stream s)
    {
        s.WriteByte(0x7E);
        Be32(s, 2);
    }

    /// <summary>One block: its pages (null content = bit clear) and any header field to write wrong.</summary>
    internal sealed class BlockSpec(string name, int pages, Func<int, byte[]?> content)
    {
        public string Name { get; } = name;

        public int Pages { get; } = pages;

        public Func<int, byte[]?> Content { get; } = content;

        public bool StaleWhereClear { get; set; }

        public uint Version { get; set; } = 1;

        public ulong PageSize { get; set; } = PageSizes.PageSize;

        public ulong? BitmapOffset { get; set; }

        /// <summary>Rewrites the pages_offset field from the right value (the data is still laid out at the right place).</summary>
        public Func<ulong, ulong>? PagesOffset { get; set; }

        public Action<byte[]>? ExtraBitmapBits { get; set; }
    }
}
