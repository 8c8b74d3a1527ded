using System.Buffers.Binary;
using System.Text;
using Engine.Codecs;
using Engine.Memory;
using Engine.Wire;

namespace Engine.Tests.Wire.Support;

/// <summary>
/// Builds streams byte by byte, including wrong ones, and remembers offsets so tests can assert where an error points.
/// </summary>
internal sealed class RawStream
{
    private readonly List<byte> _bytes = new();

    public int Offset => _bytes.Count;

    public byte[] ToArray() => _bytes.ToArray();

    public RawStream U8(byte value)
    {
        _bytes.Add(value);
        return this;
    }

    public RawStream Be16(ushort value) => Bytes(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(value)));

    public RawStream Be32(uint value) => Bytes(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(value)));

    public RawStream Be64(ulong value) => Bytes(BitConverter.GetBytes(BinaryPrimitives.ReverseEndianness(value)));

    public RawStream Bytes(ReadOnlySpan<byte> value)
    {
        foreach (byte b in value)
        {
            _bytes.Add(b);
        }

        return this;
    }

    public RawStream Counted(string value) => U8((byte)Encoding.ASCII.GetByteCount(value)).Bytes(Encoding.ASCII.GetBytes(value));

    public RawStream Header(uint magic = MigrationFormat.FileMagic, uint version = MigrationFormat.FileVersion) => Be32(magic).Be32(version);

    public RawStream Configuration(string machine = "pc-i440fx-7.2")
        => U8(0x07).Be32((uint)machine.Length).Bytes(Encoding.ASCII.GetBytes(machine));

    public RawStream Start(uint id = 2, string name = "ram", uint instance = 0, uint version = 4)
        => U8(0x01).Be32(id).Counted(name).Be32(instance).Be32(version);

    public RawStream Section(byte type, uint id = 2) => U8(type).Be32(id);

    public RawStream Footer(uint id = 2) => U8(0x7E).Be32(id);

    public RawStream Eos() => Be64(0x10);

    /// <summary>MEM_SIZE with the given blocks (name, length) and a total that is their sum.</summary>
    public RawStream BlockList(params (string Name, long Length)[] blocks)
    {
        Be64((ulong)blocks.Sum(b => b.Length) | 0x04);
        foreach ((string name, long length) in blocks)
        {
            Counted(name).Be64((ulong)length);
        }

        return this;
    }

    /// <summary>Header, configuration and the RAM setup section with one 64 KiB block "pc.ram"; then PART 2 opened.</summary>
    public static RawStream UpToFirstPart()
        => new RawStream().Header().Configuration().Start().BlockList(("pc.ram", 0x10000)).Eos().Footer().Section(0x02);

    public RawStream PageHeader(ulong offset, RamSaveFlags flags, string? block = "pc.ram")
    {
        Be64(offset | (ulong)flags);
        return block is null ? this : Counted(block);
    }

    public RawStream RawPage(ulong offset, byte fill = 0x11, string? block = "pc.ram")
        => PageHeader(offset, block is null ? RamSaveFlags.Page | RamSaveFlags.Continue : RamSaveFlags.Page, block)
            .Bytes(Enumerable.Repeat(fill, PageSizes.PageSize).ToArray());

    /// <summary>Closes PART 2 and writes END 2 (empty), EOF.</summary>
    public RawStream Finish() => Eos().Footer().Section(0x03).Eos().Footer().U8(0x00);
}
