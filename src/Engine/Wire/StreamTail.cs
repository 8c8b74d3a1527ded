using System.Buffers.Binary;

namespace Engine.Wire;

/// <summary>
/// The bytes after RAM's END section, which Engine keeps or forwards verbatim: QEMU's device sections (not length-prefixed,
/// so never parsed), then EOF (0x00) and the VM description (0x06, be32 length, JSON). Only the end is checked, so that a
/// stream cut off in the device state (a source that died) is told from a complete one.
/// </summary>
internal static class StreamTail
{
    /// <summary>The shape of what follows RAM's END.</summary>
    public enum Shape
    {
        /// <summary>Nothing, or bytes that do not end with EOF (and a VM description): a stream cut off.</summary>
        Incomplete,

        /// <summary>EOF right after RAM's END, alone or with a VM description: an Engine source (no device state).</summary>
        EofOnly,

        /// <summary>Device sections, then EOF and, usually, a VM description: a QEMU source.</summary>
        DeviceState,
    }

    /// <summary>Classifies <paramref name="tail"/>, everything from just after RAM's END footer to the end of the stream.</summary>
    public static Shape Classify(ReadOnlySpan<byte> tail)
    {
        int eof = FindEof(tail);
        if (eof < 0)
        {
            return Shape.Incomplete;
        }

        return eof == 0 ? Shape.EofOnly : Shape.DeviceState;
    }

    /// <summary>
    /// The offset of the EOF byte that ends the device state: the last 0x00 followed by a well-formed VM description that
    /// runs exactly to the end, or else the very last byte when it is 0x00. -1 when neither.
    /// </summary>
    public static int FindEof(ReadOnlySpan<byte> tail)
    {
        const int DescriptionHeader = 6; // EOF, 0x06, be32 length
        for (int p = tail.Length - DescriptionHeader; p >= 0; p--)
        {
            if (tail[p] == (byte)SectionType.Eof && tail[p + 1] == (byte)SectionType.VmDescription
                && BinaryPrimitives.ReadUInt32BigEndian(tail[(p + 2)..]) == (uint)(tail.Length - p - DescriptionHeader))
            {
                return p;
            }
        }

        return tail.Length > 0 && tail[^1] == (byte)SectionType.Eof ? tail.Length - 1 : -1;
    }
}
