namespace Engine.Migration;

/// <summary>A RAM block's name and the <see cref="MemoryChecksum"/> (XXH128, lower-case hex) of its bytes.</summary>
public readonly record struct BlockChecksum(string Name, string Checksum);
