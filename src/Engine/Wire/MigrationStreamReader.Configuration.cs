using System.Buffers.Binary;
using System.Text;
using Engine.Memory;

namespace Engine.Wire;

// The configuration section: the machine type and the subsections QEMU 7.2 to 10.0 may append to it.
internal sealed partial class MigrationStreamReader
{
    // The configuration subsections Engine knows, as bits of the set already read.
    private const int TargetPageBitsSubsection = 1;
    private const int CapabilitiesSubsection = 2;
    private const int UuidSubsection = 4;

    private void ReadConfiguration()
    {
        int start = _position;
        Require(5, "the configuration header (0x07, be32 machine type length)");
        uint length = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(start + 1));
        if (length == 0 || length > MigrationFormat.MaxMachineTypeLength)
        {
            throw Error(start + 1, $"expected a machine type name of 1 to {MigrationFormat.MaxMachineTypeLength} bytes, found a length of {length}");
        }

        Require(5 + (int)length, "the machine type name");
        ReadOnlySpan<byte> name = _buffer.AsSpan(start + 5, (int)length);
        if (name.ContainsAnyExceptInRange((byte)0x21, (byte)0x7E))
        {
            throw Error(start + 5, $"expected a printable machine type name, found '{Printable(name)}'");
        }

        MachineType = Encoding.ASCII.GetString(name);
        _position = start + 5 + (int)length;

        // Subsections follow the fields directly, each opened by 0x05; at top level nothing else starts with 0x05, so a
        // peek decides. There is no terminator. They all belong to this one item, which must fit the buffer, so each
        // may appear once (as QEMU writes them): repeats would let the item grow without bound.
        int seen = 0;
        while (TryRequire(1) && _buffer[_position] == (byte)SectionType.Subsection)
        {
            ReadConfigurationSubsection(ref seen);
        }

        _kind = MigrationItemKind.Configuration;
    }

    private void ReadConfigurationSubsection(ref int seen)
    {
        int start = _position;
        Require(2, "a configuration subsection header (0x05, name length)");
        int nameLength = _buffer[start + 1];
        Require(2 + nameLength + 4, "the configuration subsection's name and version");
        ReadOnlySpan<byte> name = _buffer.AsSpan(start + 2, nameLength);
        uint version = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(start + 2 + nameLength));
        if (version != 1)
        {
            throw Error(start + 2 + nameLength, $"expected version 1 of configuration subsection '{Printable(name)}', found {version}");
        }

        int which = name.SequenceEqual("configuration/target-page-bits"u8) ? TargetPageBitsSubsection
            : name.SequenceEqual("configuration/capabilities"u8) ? CapabilitiesSubsection
            : name.SequenceEqual("configuration/uuid"u8) ? UuidSubsection
            : 0;
        if ((seen & which) != 0)
        {
            throw Error(start + 2, $"found configuration subsection '{Printable(name)}' a second time; QEMU writes each at most once");
        }

        seen |= which;
        _position = start + 6 + nameLength;
        if (which == TargetPageBitsSubsection)
        {
            Require(4, "the target page bits");
            uint bits = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_position));
            if (bits != PageSizes.PageShift)
            {
                throw Error(_position, $"expected target page bits {PageSizes.PageShift} (4 KiB pages), found {bits}");
            }

            _position += 4;
        }
        else if (which == CapabilitiesSubsection)
        {
            _capabilitiesSubsection = (start - _itemStart, _position - _itemStart, 0);
            Require(4, "the capability count");
            uint count = BinaryPrimitives.ReadUInt32BigEndian(_buffer.AsSpan(_position));
            if (count > MigrationFormat.MaxConfigurationCapabilities)
            {
                throw Error(_position, $"expected at most {MigrationFormat.MaxConfigurationCapabilities} capabilities, found a count of {count}");
            }

            _position += 4;
            for (uint i = 0; i < count; i++)
            {
                Require(1, "a capability name length");
                int length = _buffer[_position];
                Require(1 + length, "a capability name");
                ReadOnlySpan<byte> capability = _buffer.AsSpan(_position + 1, length);
                if (capability.SequenceEqual("x-ignore-shared"u8))
                {
                    // With x-ignore-shared every block list entry carries the block's guest address as well.
                    _ignoreShared = true;
                }
                else if (capability.SequenceEqual("mapped-ram"u8))
                {
                    _mappedRamCapabilityAt = _position - _itemStart;
                    BeginMappedRam(_position);
                }

                _capabilities.Add(Encoding.ASCII.GetString(capability));
                _position += 1 + length;
            }

            _capabilitiesSubsection.End = _position - _itemStart;
        }
        else if (which == UuidSubsection)
        {
            Require(16, "the VM UUID");
            _position += 16;
        }
        else
        {
            throw Error(start + 2, $"expected a configuration subsection (target-page-bits, capabilities, uuid), found '{Printable(name)}'");
        }
    }
}
