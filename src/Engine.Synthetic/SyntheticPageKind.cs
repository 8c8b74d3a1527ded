namespace Engine.Synthetic;

/// <summary>The kinds of page in <see cref="SyntheticContent"/>'s model of guest RAM.</summary>
public enum SyntheticPageKind
{
    /// <summary>All zero: never-touched or freed memory, zeroed page-cache and balloon pages.</summary>
    Zero = 0,

    /// <summary>Text: page cache of logs, configuration, scripts; words from a Zipf-like vocabulary in lines.</summary>
    Text,

    /// <summary>Heap: arrays of records holding pointers into one region, small integers, flags and padding.</summary>
    Heap,

    /// <summary>Code: machine-code-like bytes, skewed opcode bytes with displacements and immediates.</summary>
    Code,

    /// <summary>Sparse: mostly zero with a few 8-byte entries (page tables, half-used slabs, bitmaps).</summary>
    Sparse,

    /// <summary>Random: compressed files, encrypted data, entropy pools; does not shrink.</summary>
    Random,
}
