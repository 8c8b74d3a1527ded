namespace Engine.Wire;

/// <summary>The type byte that opens each top-level item of a migration stream (<c>QEMU_VM_*</c>).</summary>
internal enum SectionType : byte
{
    /// <summary>End of the device state (<c>QEMU_VM_EOF</c>); a VM description may follow.</summary>
    Eof = 0x00,

    /// <summary>First section of an iterable device (RAM): carries the id string, instance and version.</summary>
    Start = 0x01,

    /// <summary>An intermediate section of an iterable device.</summary>
    Part = 0x02,

    /// <summary>The last section of an iterable device.</summary>
    End = 0x03,

    /// <summary>The complete state of a non-iterable device (schema-driven vmstate).</summary>
    Full = 0x04,

    /// <summary>A subsection inside a vmstate (never at top level).</summary>
    Subsection = 0x05,

    /// <summary>The JSON description of the devices, after <see cref="Eof"/>.</summary>
    VmDescription = 0x06,

    /// <summary>The configuration section (machine type), right after the file header.</summary>
    Configuration = 0x07,

    /// <summary>A command to the destination (return path, ping, postcopy).</summary>
    Command = 0x08,

    /// <summary>The section footer: this byte and the section id.</summary>
    Footer = 0x7E,
}
