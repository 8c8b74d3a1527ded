namespace Engine.Synthetic;

/// <summary>
/// The kinds of synthetic page content, one list for both generators: <see cref="PageMix"/> makes <see cref="Zero"/>,
/// <see cref="Text"/>, <see cref="Binary"/>, <see cref="Sparse"/> and <see cref="Random"/> (<see cref="PageMix.Kinds"/>);
/// <see cref="SyntheticContent"/>'s model of a guest's RAM makes <see cref="Zero"/>, <see cref="Text"/>,
/// <see cref="Heap"/>, <see cref="Code"/>, <see cref="Sparse"/> and <see cref="Random"/>.
/// </summary>
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

    /// <summary>Heap: arrays of records holding pointers into one region, small integers, flags and padding (<see cref="SyntheticContent"/>).</summary>
    Heap = 5,

    /// <summary>Code: machine-code-like bytes, skewed opcode bytes with displacements and immediates (<see cref="SyntheticContent"/>).</summary>
    Code = 6,
}
