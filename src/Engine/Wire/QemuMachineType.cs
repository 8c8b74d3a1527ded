using System.Globalization;

namespace Engine.Wire;

/// <summary>
/// What a QEMU machine type (<c>pc-i440fx-10.0</c>, <c>pc-q35-8.2</c>) turns on in the wire format. A destination QEMU takes
/// these settings from its own machine type, not from the stream, so a source must write what the destination's machine
/// type expects (reference: qemu-wire-7.2-to-10.0.md §5).
/// </summary>
internal static class QemuMachineType
{
    /// <summary>
    /// True when a QEMU destination of this machine type syncs multifd once per round at the
    /// <see cref="RamSaveFlags.MultifdFlush"/> record (QEMU 8.1+: <c>multifd-flush-after-each-section</c> is off from machine
    /// type 8.1 on; <c>hw_compat_8_0</c> turns it on for 8.0 and older), rather than at every EOS. A name without a version
    /// (<c>microvm</c>) is taken as a current one.
    /// </summary>
    public static bool SyncsMultifdPerRound(string machineType)
        => !TryVersion(machineType, out int major, out int minor) || major > 8 || (major == 8 && minor >= 1);

    /// <summary>
    /// True when only a QEMU without the compress capability can run this machine type: a machine type <c>X.Y</c> exists
    /// from QEMU X.Y on, and QEMU 9.1 removed compress, so a destination of type 9.1 or later refuses the series'
    /// compressed pages ("Unknown combination of migration flags: 0x100"). A name without a version is taken as current.
    /// </summary>
    public static bool HasNoCompress(string machineType)
        => !TryVersion(machineType, out int major, out int minor) || major > 9 || (major == 9 && minor >= 1);

    /// <summary>The <c>X.Y</c> at the end of a versioned machine type name.</summary>
    public static bool TryVersion(string machineType, out int major, out int minor)
    {
        major = 0;
        minor = 0;
        int dash = machineType.LastIndexOf('-');
        string version = dash < 0 ? string.Empty : machineType[(dash + 1)..];
        int dot = version.IndexOf('.');
        return dot > 0
            && int.TryParse(version.AsSpan(0, dot), NumberStyles.None, CultureInfo.InvariantCulture, out major)
            && int.TryParse(version.AsSpan(dot + 1), NumberStyles.None, CultureInfo.InvariantCulture, out minor);
    }
}
