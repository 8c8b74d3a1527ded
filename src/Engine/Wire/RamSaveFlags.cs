namespace Engine.Wire;

/// <summary>
/// The flags in the low bits of a RAM record header (<c>RAM_SAVE_FLAG_*</c>). A record's flags, without
/// <see cref="Continue"/>, are exactly one of the kinds.
/// </summary>
[Flags]
internal enum RamSaveFlags : ushort
{
    /// <summary>No flag.</summary>
    None = 0,

    /// <summary>Obsolete full-page flag; never sent by QEMU since 2.x, rejected.</summary>
    Full = 0x01,

    /// <summary>A page filled with one byte (always 0): body <c>u8 fill</c>.</summary>
    Zero = 0x02,

    /// <summary>The RAM block list: total size in the address bits, then each block's name and used length.</summary>
    MemSize = 0x04,

    /// <summary>A raw page: body 4096 bytes.</summary>
    Page = 0x08,

    /// <summary>End of the RAM payload of a section; no body.</summary>
    Eos = 0x10,

    /// <summary>Modifier: the record is in the same block as the previous one, no block name follows.</summary>
    Continue = 0x20,

    /// <summary>An XBZRLE delta against the previous content of the page.</summary>
    Xbzrle = 0x40,

    /// <summary>An RDMA hook; not supported.</summary>
    Hook = 0x80,

    /// <summary>A compressed page: body <c>be32 length</c> and one zlib stream or zstd frame.</summary>
    CompressPage = 0x100,

    /// <summary>A multifd synchronisation point (QEMU 8.1+); no body.</summary>
    MultifdFlush = 0x200,
}
