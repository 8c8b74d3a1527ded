using System.Buffers.Binary;

namespace Engine.Tests.Wire.Support;

/// <summary>
/// Deterministic structure-aware mutations of migration streams for the fuzz smoke run: bit flips, interesting bytes,
/// big-endian length and header values, truncations, insertions, deletions and duplicated ranges.
/// </summary>
internal sealed class StreamMutator(int seed)
{
    private static readonly uint[] s_interesting32 =
    {
        0, 1, 2, 3, 4, 0x7F, 0x80, 0xFF, 0x100, 4095, 4096, 4097, 4110, 4111, 4173, 4174, 4175, 0xFFFF, 0x10000,
        0x7FFFFFFF, 0x80000000, 0xFFFFFFFF, 0x5145564D, 0x7E,
        0x000B0000, 0x000C0000, 0x000B0004, // be16 command 11 (QEMU 10.0's SWITCHOVER_START) and 12 with a be16 length
    };

    private static readonly ulong[] s_interestingHeaders =
    {
        0x02, 0x08, 0x10, 0x22, 0x28, 0x100, 0x120, 0x40, 0x60, 0x200, 0x04, 0x80, 0x01, 0x30, 0x1008, 0xFFFFFFFFFFFFF008,
        0x10000 | 0x22, 0x0F000 | 0x08, 0x1800 | 0x08, 0,
    };

    private static readonly byte[] s_interestingBytes = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0B, 0x0C, 0x10, 0x20, 0x7E, 0x7F, 0x80, 0xFF, 0x78, 0x28 };

    private readonly Random _random = new(seed);

    public byte[] Mutate(byte[] seedStream)
    {
        byte[] data = (byte[])seedStream.Clone();
        int rounds = 1 + _random.Next(3);
        for (int i = 0; i < rounds && data.Length > 0; i++)
        {
            data = MutateOnce(data);
        }

        return data;
    }

    private byte[] MutateOnce(byte[] data)
    {
        int at = _random.Next(data.Length);
        switch (_random.Next(9))
        {
            case 0:
                data[at] ^= (byte)(1 << _random.Next(8));
                return data;
            case 1:
                data[at] = s_interestingBytes[_random.Next(s_interestingBytes.Length)];
                return data;
            case 2:
                if (at + 4 <= data.Length)
                {
                    BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), s_interesting32[_random.Next(s_interesting32.Length)]);
                }

                return data;
            case 3:
                if (at + 8 <= data.Length)
                {
                    BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(at), s_interestingHeaders[_random.Next(s_interestingHeaders.Length)]);
                }

                return data;
            case 4:
                if (at + 4 <= data.Length)
                {
                    // Nudge a would-be length field up or down a little.
                    uint value = BinaryPrimitives.ReadUInt32BigEndian(data.AsSpan(at));
                    BinaryPrimitives.WriteUInt32BigEndian(data.AsSpan(at), value + (uint)_random.Next(-3, 4));
                }

                return data;
            case 5:
                return data.AsSpan(0, at).ToArray();
            case 6:
            {
                byte[] insert = new byte[1 + _random.Next(16)];
                _random.NextBytes(insert);
                return data.AsSpan(0, at).ToArray().Concat(insert).Concat(data.AsSpan(at).ToArray()).ToArray();
            }

            case 7:
            {
                int length = Math.Min(1 + _random.Next(64), data.Length - at);
                return data.AsSpan(0, at).ToArray().Concat(data.AsSpan(at + length).ToArray()).ToArray();
            }

            default:
            {
                int length = Math.Min(1 + _random.Next(64), data.Length - at);
                int to = _random.Next(data.Length);
                byte[] range = data.AsSpan(at, length).ToArray();
                return data.AsSpan(0, to).ToArray().Concat(range).Concat(data.AsSpan(to).ToArray()).ToArray();
            }
        }
    }
}
