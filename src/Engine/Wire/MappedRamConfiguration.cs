using System.Buffers.Binary;

namespace Engine.Wire;

/// <summary>
/// Rewrites the kept start of a stream (file header, configuration, commands before RAM) so that its configuration lists the
/// <c>mapped-ram</c> capability, as QEMU writes it when the capability is on. QEMU's loader compares the validatable
/// capabilities the file lists (x-ignore-shared, mapped-ram) with its own, so a mapped-ram file whose configuration did not
/// list it would be refused by a destination that has mapped-ram on ("Capability mapped-ram is on, but received capability is off").
/// </summary>
/// <remarks>
/// QEMU's "configuration/capabilities" subsection: 0x05, u8 name length, name, be32 version 1, be32 count, then per
/// capability u8 length and its name. QEMU writes the configuration's subsections in the order target-page-bits,
/// capabilities, uuid, and a new one is put where QEMU would have it.
/// </remarks>
internal static class MappedRamConfiguration
{
    private const byte ConfigurationMarker = 0x07;
    private static ReadOnlySpan<byte> CapabilitiesName => "configuration/capabilities"u8;
    private static ReadOnlySpan<byte> MappedRam => "mapped-ram"u8;

    /// <summary>be32 version 1, then be32 count 1.</summary>
    private static ReadOnlySpan<byte> VersionOneCountOne => [0, 0, 0, 1, 0, 0, 0, 1];

    /// <summary>
    /// Returns <paramref name="prefix"/> with <c>mapped-ram</c> added to its configuration's capabilities (the subsection
    /// added when there was none; unchanged when it is listed already or the stream has no configuration section, as QEMU
    /// before 2.12 machine types writes). <paramref name="ignoreShared"/> tells whether x-ignore-shared is listed too.
    /// </summary>
    /// <exception cref="MigrationStreamException">The prefix is not a file header followed by a well-formed configuration.</exception>
    public static byte[] WithMappedRam(ReadOnlySpan<byte> prefix, out bool ignoreShared)
    {
        ignoreShared = false;
        if (prefix.Length < MigrationFormat.FileHeaderLength
            || BinaryPrimitives.ReadUInt32BigEndian(prefix) != MigrationFormat.FileMagic
            || BinaryPrimitives.ReadUInt32BigEndian(prefix[4..]) != MigrationFormat.FileVersion)
        {
            throw new MigrationStreamException(0, "expected the kept stream start to begin with the file header QEVM, version 3");
        }

        int position = MigrationFormat.FileHeaderLength;
        if (position == prefix.Length || prefix[position] != ConfigurationMarker)
        {
            return prefix.ToArray();
        }

        Need(prefix, position, 5, "the configuration header");
        int nameLength = checked((int)BinaryPrimitives.ReadUInt32BigEndian(prefix[(position + 1)..]));
        if (nameLength is < 1 or > MigrationFormat.MaxMachineTypeLength)
        {
            throw new MigrationStreamException(position + 1, $"expected a machine type name of 1 to {MigrationFormat.MaxMachineTypeLength} bytes, found a length of {nameLength}");
        }

        position += 5 + nameLength;
        Need(prefix, MigrationFormat.FileHeaderLength, 5 + nameLength, "the machine type name");
        int insertAt = -1;
        int countAt = -1;
        int capabilitiesEnd = -1;
        uint count = 0;
        bool listed = false;
        while (position < prefix.Length && prefix[position] == (byte)SectionType.Subsection)
        {
            int start = position;
            Need(prefix, start, 2, "a configuration subsection header");
            int length = prefix[start + 1];
            Need(prefix, start, 2 + length + 4, "a configuration subsection's name and version");
            ReadOnlySpan<byte> name = prefix.Slice(start + 2, length);
            position = start + 2 + length + 4;
            if (name.SequenceEqual("configuration/target-page-bits"u8))
            {
                Need(prefix, position, 4, "the target page bits");
                position += 4;
            }
            else if (name.SequenceEqual(CapabilitiesName))
            {
                Need(prefix, position, 4, "the capability count");
                countAt = position;
                count = BinaryPrimitives.ReadUInt32BigEndian(prefix[position..]);
                if (count > MigrationFormat.MaxConfigurationCapabilities)
                {
                    throw new MigrationStreamException(position, $"expected at most {MigrationFormat.MaxConfigurationCapabilities} capabilities, found a count of {count}");
                }

                position += 4;
                for (uint i = 0; i < count; i++)
                {
                    Need(prefix, position, 1, "a capability name length");
                    int capabilityLength = prefix[position];
                    Need(prefix, position, 1 + capabilityLength, "a capability name");
                    ReadOnlySpan<byte> capability = prefix.Slice(position + 1, capabilityLength);
                    listed |= capability.SequenceEqual(MappedRam);
                    ignoreShared |= capability.SequenceEqual("x-ignore-shared"u8);
                    position += 1 + capabilityLength;
                }

                capabilitiesEnd = position;
            }
            else if (name.SequenceEqual("configuration/uuid"u8))
            {
                insertAt = insertAt < 0 ? start : insertAt;
                Need(prefix, position, 16, "the VM UUID");
                position += 16;
            }
            else
            {
                throw new MigrationStreamException(start + 2, "expected a configuration subsection (target-page-bits, capabilities, uuid), found another name");
            }
        }

        if (listed)
        {
            return prefix.ToArray();
        }

        var result = new List<byte>(prefix.Length + 64);
        if (countAt >= 0)
        {
            // Appended after the others: QEMU writes them in its capability enum's order, where mapped-ram comes after
            // x-ignore-shared, and reads them by name.
            result.AddRange(prefix[..capabilitiesEnd]);
            result.Add((byte)MappedRam.Length);
            result.AddRange(MappedRam);
            result.AddRange(prefix[capabilitiesEnd..]);
            byte[] bytes = [.. result];
            BinaryPrimitives.WriteUInt32BigEndian(bytes.AsSpan(countAt), count + 1);
            return bytes;
        }

        // No capabilities subsection: one listing mapped-ram alone, before the uuid subsection or at the configuration's end.
        int at = insertAt >= 0 ? insertAt : position;
        result.AddRange(prefix[..at]);
        result.Add((byte)SectionType.Subsection);
        result.Add((byte)CapabilitiesName.Length);
        result.AddRange(CapabilitiesName);
        result.AddRange(VersionOneCountOne);
        result.Add((byte)MappedRam.Length);
        result.AddRange(MappedRam);
        result.AddRange(prefix[at..]);
        return [.. result];
    }

    private static void Need(ReadOnlySpan<byte> prefix, int at, int length, string what)
    {
        if (at > prefix.Length - length)
        {
            throw new MigrationStreamException(at, $"expected {what} ({length} bytes) in the kept configuration, found the end of it");
        }
    }
}
