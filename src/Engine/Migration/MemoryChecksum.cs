using System.Security.Cryptography;
using Engine.Memory;

namespace Engine.Migration;

/// <summary>SHA-256 of a RAM block's bytes, as lower-case hex: what source and destination compare at the end.</summary>
public static class MemoryChecksum
{
    /// <summary>The checksum of <paramref name="block"/>. The caller makes sure nothing writes to it meanwhile.</summary>
    public static string Of(RamBlock block)
    {
        ArgumentNullException.ThrowIfNull(block);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        const int Chunk = 1 << 24;
        for (long offset = 0; offset < block.Size; offset += Chunk)
        {
            hash.AppendData(block.GetSpan(offset, (int)Math.Min(Chunk, block.Size - offset)));
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    /// <summary>Every block's checksum, in block order, as (name, checksum).</summary>
    public static IReadOnlyList<BlockChecksum> Of(GuestMemory memory)
    {
        ArgumentNullException.ThrowIfNull(memory);
        return memory.Blocks.Select(b => new BlockChecksum(b.Name, Of(b))).ToArray();
    }
}
