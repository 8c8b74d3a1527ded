namespace Engine.Migration;

/// <summary>A RAM block's name and the SHA-256 of its bytes (lower-case hex).</summary>
public readonly record struct BlockChecksum(string Name, string Sha256);
