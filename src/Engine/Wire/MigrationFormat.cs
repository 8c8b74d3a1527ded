namespace Engine.Wire;

/// <summary>
/// Fixed values of QEMU's migration stream (file format version 3, as QEMU 7.2 writes it), with the limits the reader
/// enforces. All integers on the wire are big-endian.
/// </summary>
internal static class MigrationFormat
{
    /// <summary>The file magic <c>QEVM</c> (<c>QEMU_VM_FILE_MAGIC</c>).</summary>
    public const uint FileMagic = 0x5145564D;

    /// <summary>The only file version QEMU 7.2 loads (<c>QEMU_VM_FILE_VERSION</c>).</summary>
    public const uint FileVersion = 3;

    /// <summary>The old file version QEMU still names but refuses to load (<c>QEMU_VM_FILE_VERSION_COMPAT</c>).</summary>
    public const uint FileVersionCompat = 2;

    /// <summary>The id string of the RAM section.</summary>
    public const string RamSectionName = "ram";

    /// <summary>The RAM section's instance id.</summary>
    public const uint RamInstanceId = 0;

    /// <summary>The RAM section's version: QEMU's <c>ram_load</c> accepts no other.</summary>
    public const uint RamSectionVersion = 4;

    /// <summary>The byte in an XBZRLE record that names the encoding (<c>ENCODING_FLAG_XBZRLE</c>).</summary>
    public const byte XbzrleEncodingFlag = 0x01;

    /// <summary>The length of a file header: magic and version.</summary>
    public const int FileHeaderLength = 8;

    /// <summary>The length of a section footer: type byte and section id.</summary>
    public const int FooterLength = 5;

    /// <summary>The length of a record header (<c>be64 offset | flags</c>).</summary>
    public const int RecordHeaderLength = 8;

    /// <summary>The flags of a record header live in the bits below the target page size.</summary>
    public const ulong FlagMask = 0xFFF;

    /// <summary>The longest counted string (one length byte).</summary>
    public const int MaxCountedStringLength = 255;

    /// <summary>
    /// The longest machine type name accepted in the configuration section. QEMU's names are short
    /// (<c>pc-i440fx-7.2</c>); the cap stops a hostile length field from asking for gigabytes.
    /// </summary>
    public const int MaxMachineTypeLength = 256;

    /// <summary>The most capability names accepted in the configuration's capabilities subsection.</summary>
    public const int MaxConfigurationCapabilities = 64;

    /// <summary>The most RAM blocks accepted in one MEM_SIZE list (QEMU x86 machines have about ten).</summary>
    public const int MaxRamBlocks = 1024;
}
