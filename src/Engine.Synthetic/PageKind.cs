namespace Engine.Synthetic;

/// <summary>The kinds of built-in page content <see cref="PageMix"/> makes, from most to least compressible.</summary>
public enum PageKind
{
    /// <summary>All zero: free or freshly mapped memory (QEMU sends it as a zero page).</summary>
    Zero = 0,

    /// <summary>Text: logs, configuration and prose (about 3x with zlib level 1).</summary>
    Text = 1,

    /// <summary>ELF-like binary: headers, x86-64-like code, small integers, pointers, symbol names (about 2x with zlib level 1).</summary>
    Binary = 2,

    /// <summary>Mostly zero with a few scattered values: heap and page tables (compresses very well).</summary>
    Sparse = 3,

    /// <summary>Uniformly random bytes: encrypted or already compressed data (does not compress).</summary>
    Random = 4,
}
