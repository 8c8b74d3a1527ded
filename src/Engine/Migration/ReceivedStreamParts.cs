using Engine.Memory;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// What a destination keeps of a received stream besides the pages, so that <see cref="Checkpoint"/> can write it out again:
/// the bytes before RAM's START (file header, configuration, commands) verbatim, the RAM section's id and block list, and
/// everything after RAM's END (a QEMU source's device state, EOF, VM description) verbatim, whose end tells a QEMU source
/// from an Engine one (<see cref="StreamTail"/>). One copy for the single-stream and the multifd destination.
/// </summary>
internal sealed class ReceivedStreamParts
{
    private readonly MemoryStream _prefix = new();
    private uint _ramSectionId;
    private byte[] _blockList = [];
    private byte[] _tail = [];

    /// <summary>True once <see cref="ReadTail"/> found device state after RAM's END: a QEMU source, which expects no reply.</summary>
    public bool FromQemu { get; private set; }

    /// <summary>
    /// Keeps what it needs of the item <paramref name="reader"/> is on: call it for the file header, configuration, commands,
    /// section headers and the block list. A command that a one-way destination cannot serve (return path, postcopy) is
    /// refused by name.
    /// </summary>
    /// <summary>Keeps the RAM block list the reader is on (as <see cref="Observe"/>) and allocates guest memory for it.</summary>
    public GuestMemory ObserveBlockList(MigrationStreamReader reader)
    {
        Observe(reader);
        var memory = new GuestMemory();
        foreach (RamBlockInfo info in reader.Blocks)
        {
            memory.AddReceivingBlock(info.Name, info.Length);
        }

        return memory;
    }

    public void Observe(MigrationStreamReader reader)
    {
        switch (reader.Kind)
        {
            case MigrationItemKind.FileHeader:
                _prefix.Write(reader.RawItem);
                break;
            case MigrationItemKind.Configuration:
                // A mapped-ram file's pages were read at their offsets; what is kept describes an ordinary stream.
                _prefix.Write(reader.IsMappedRam ? reader.ConfigurationWithoutMappedRam() : reader.RawItem);
                break;
            case MigrationItemKind.Command:
                QemuStreamFeatures.ThrowIfUnsupportedCommand(reader.CommandId, reader.ItemOffset);
                if (_blockList.Length == 0)
                {
                    _prefix.Write(reader.RawItem);
                }

                break;
            case MigrationItemKind.SectionHeader when reader.SectionType == SectionType.Start:
                _ramSectionId = reader.SectionId;
                break;
            case MigrationItemKind.RamBlockList:
                _blockList = reader.IsMappedRam ? reader.PlainBlockList.ToArray() : reader.RawItem.ToArray();
                break;
        }
    }

    /// <summary>
    /// After RAM's END: reads the rest of the stream until the source closes it (at most <paramref name="limit"/> bytes) and
    /// tells whether it came from QEMU (device state, <see cref="FromQemu"/>) or Engine (EOF alone). Throws
    /// <see cref="MigrationStreamException"/> when the device state is cut off (a source that died).
    /// </summary>
    public void ReadTail(MigrationStreamReader reader, long limit)
    {
        long ramEnd = reader.Position;
        byte[] tail;
        using (var buffer = new BoundedBuffer(limit))
        {
            reader.CopyRemainderTo(buffer);
            tail = buffer.ToArray();
        }

        StreamTail.Shape shape = StreamTail.Classify(tail);
        if (shape == StreamTail.Shape.Incomplete)
        {
            throw new MigrationStreamException(
                ramEnd + tail.Length,
                $"the stream ended {tail.Length} bytes after RAM's END without EOF (0x00) and the VM description: the device "
                + "state is cut off (the source died or cancelled the migration)");
        }

        _tail = tail;
        FromQemu = shape == StreamTail.Shape.DeviceState;
    }

    /// <summary>
    /// The checksums of the received <paramref name="memory"/>, for the result; an Engine source (not QEMU: the reply is an
    /// Engine-to-Engine extension, and a QEMU source expects none) is told on <paramref name="connection"/> that the stream was
    /// received, then sent the checksums. Best effort: the stream is complete, so a source that went away after its EOF (a
    /// relay that closed once it had carried everything) does not make the destination discard it.
    /// </summary>
    public IReadOnlyList<BlockChecksum> Acknowledge(Stream? connection, GuestMemory memory)
    {
        bool replying = connection is not null && !FromQemu && MigrationReply.TryWrite(connection, MigrationReply.WriteReceived);
        IReadOnlyList<BlockChecksum> checksums = MemoryChecksum.Of(memory);
        if (replying)
        {
            MigrationReply.TryWrite(connection!, s => MigrationReply.WriteChecksums(s, checksums));
        }

        return checksums;
    }

    /// <summary><paramref name="result"/> with the kept parts.</summary>
    public DestinationResult Fill(DestinationResult result) => result with
    {
        StreamPrefix = _prefix.ToArray(),
        RamSectionId = _ramSectionId,
        RamBlockList = _blockList,
        Tail = _tail,
        FromQemu = FromQemu,
    };
}
