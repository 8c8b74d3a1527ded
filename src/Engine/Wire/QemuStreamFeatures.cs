namespace Engine.Wire;

/// <summary>
/// The parts of a live QEMU 7.2 stream that Engine cannot carry, named so that a relay or a destination stops with a clear
/// error before the destination QEMU has anything it would start a guest from (device state comes only after RAM's END).
/// </summary>
/// <remarks>
/// Precopy alone is carried: RAM records (plain, zero, compressed, XBZRLE) are parsed and re-encoded, everything after
/// RAM's END goes on byte for byte. Postcopy needs the destination to ask for pages (a return path and page requests
/// mid-stream), block migration and dirty-bitmap migration add iterable sections whose payloads need their schema, and
/// the return path needs replies that a one-way carrier cannot give.
/// </remarks>
internal static class QemuStreamFeatures
{
    /// <summary>QEMU's MIG_CMD_OPEN_RETURN_PATH.</summary>
    public const ushort OpenReturnPath = 1;

    /// <summary>QEMU's MIG_CMD_POSTCOPY_ADVISE.</summary>
    public const ushort PostcopyAdvise = 3;

    /// <summary>
    /// QEMU 10.0's MIG_CMD_SWITCHOVER_START: no body, sent after the last RAM PART section (machine types from 10.0, or
    /// <c>migration.send-switchover-start=on</c>). It only tells the destination to start loading device state that came
    /// over multifd (VFIO); without such a device it does nothing, so a carrier copies it on like PING.
    /// </summary>
    public const ushort SwitchoverStart = 11;

    /// <summary>The highest command id QEMU (up to 10.0 at least) defines; the reader refuses anything above it.</summary>
    public const ushort LastCommand = SwitchoverStart;

    /// <summary>
    /// Why a live carrier cannot pass on command <paramref name="command"/>, or null when it can (PING and SWITCHOVER_START
    /// are copied verbatim).
    /// </summary>
    public static string? DescribeUnsupportedCommand(ushort command) => command switch
    {
        OpenReturnPath => "the source opened a return path (capability return-path, or postcopy): Engine carries precopy one way "
            + "and cannot answer on it; turn return-path off on the source",
        PostcopyAdvise => "the source advised postcopy (capability postcopy-ram): Engine carries precopy only; turn postcopy-ram off",
        4 or 5 or 6 or 7 or 9 or 10 => $"the source sent postcopy command {command}: Engine carries precopy only",
        8 => "the source enabled COLO (command 8): Engine carries precopy only",
        SwitchoverStart => null, // a marker QEMU 10.0 destinations accept: copied on verbatim
        _ => null,
    };

    /// <summary>Throws a <see cref="MigrationStreamException"/> at <paramref name="offset"/> for a command a live carrier cannot pass on.</summary>
    public static void ThrowIfUnsupportedCommand(ushort command, long offset)
    {
        string? reason = DescribeUnsupportedCommand(command);
        if (reason is not null)
        {
            throw new MigrationStreamException(offset, $"unsupported stream feature: {reason}");
        }
    }

    /// <summary>What an iterable section other than RAM is, for an error message: block migration, dirty bitmaps, or unknown.</summary>
    public static string DescribeSection(string name) => name switch
    {
        "block" => " (block migration, capability block or migrate -b: Engine does not carry it; copy disks another way)",
        "dirty-bitmap" => " (block dirty-bitmap migration, capability dirty-bitmaps: Engine does not carry it)",

        // QEMU 8.0+ saves this vmsd during setup, before RAM, as "<device path>/virtio-mem-device-early".
        _ when name.EndsWith("virtio-mem-device-early", StringComparison.Ordinal) =>
            " (a virtio-mem device's early-setup state, which QEMU 8.0 and later send before RAM: Engine cannot carry device "
            + "state ahead of RAM; give the source -global virtio-mem.x-early-migration=off, or a machine type of 7.2 or older)",
        _ => string.Empty,
    };
}
