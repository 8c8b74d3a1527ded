namespace Engine.Wire;

/// <summary>What <see cref="MigrationStreamReader.Read"/> has just read.</summary>
internal enum MigrationItemKind
{
    /// <summary>Nothing read yet, or the reader has stopped.</summary>
    None = 0,

    /// <summary>The file header: magic and version.</summary>
    FileHeader,

    /// <summary>The configuration section: machine type and its subsections.</summary>
    Configuration,

    /// <summary>A command section (<see cref="MigrationStreamReader.CommandId"/>); its body is skipped.</summary>
    Command,

    /// <summary>A RAM section header: START, PART or END (<see cref="MigrationStreamReader.SectionType"/>).</summary>
    SectionHeader,

    /// <summary>The RAM block list (MEM_SIZE record): <see cref="MigrationStreamReader.Blocks"/> is now filled.</summary>
    RamBlockList,

    /// <summary>A zero page at <see cref="MigrationStreamReader.BlockIndex"/>, <see cref="MigrationStreamReader.PageOffset"/>.</summary>
    ZeroPage,

    /// <summary>A raw page; <see cref="MigrationStreamReader.Payload"/> holds its 4096 bytes.</summary>
    RawPage,

    /// <summary>A compressed page; <see cref="MigrationStreamReader.Payload"/> holds one zlib stream or zstd frame.</summary>
    CompressedPage,

    /// <summary>An XBZRLE delta (validated); apply it to the page's previous content with <see cref="Xbzrle.Decode"/>.</summary>
    XbzrlePage,

    /// <summary>A multifd flush marker (QEMU 8.1+); no body.</summary>
    MultifdFlush,

    /// <summary>The end of a RAM section's payload (EOS). A destination waits for its decompress workers here.</summary>
    EndOfSection,

    /// <summary>A section footer.</summary>
    SectionFooter,

    /// <summary>The EOF marker of the device state.</summary>
    Eof,

    /// <summary>The trailing JSON VM description (skipped; only its header is in <see cref="MigrationStreamReader.RawItem"/>).</summary>
    VmDescription,
}
