using System.Net.Sockets;
using Engine.Codecs;
using Engine.Fuzz;
using Engine.Memory;
using Engine.Multifd;
using Engine.Tests.Migration;
using Engine.Wire;

namespace Engine.Tests.Multifd;

/// <summary>
/// A multifd migration shaped as QEMU 7.2 sends it, written by hand through a <see cref="FakeMultifdSource"/>: a SYNC on
/// every channel before each EOS, zero pages as ZERO records on the main channel, one compression stream per channel across
/// packets, pages sent again (and turned zero) in later sections, and after RAM's END device state, EOF and a VM description
/// (<see cref="LivePeerTests.DeviceState"/>) instead of Engine's EOF.
/// </summary>
/// <remarks>
/// With <c>qemu10</c> the packets are shaped as QEMU 10.0 sends them on its own machine type: zero pages travel in the
/// packets (<c>zero_pages</c>, after the normal pages and unsorted, some packets with zero pages only, some over pages that
/// held data), SYNC packets are 9.2's (flags exactly 0x1, pages_alloc 0), and SWITCHOVER_START (command 11) comes before
/// RAM's END. The barriers are <see cref="QemuSync"/>'s: with <see cref="QemuSync.PerRound100"/> and <c>qemu10</c> the stream
/// is what QEMU 10.0 sends with no <c>-global</c> at all.
/// </remarks>
internal static unsafe class QemuShapedMultifd
{
    /// <summary>Pages of pc.ram the migration touches (of 256 in the 1 MiB block).</summary>
    private const int Pages = 200;

    /// <summary>Zero pages the migration sends, as ZERO records or in packets: 20 in section 1, 10 in section 2, 10 in section 3.</summary>
    public const int ZeroPageCount = 40;

    /// <summary>Connects <paramref name="count"/> channels, sends the migration and closes every connection's sending side. Returns pc.ram as it must end.</summary>
    public static byte[] Send(FakeMultifdSource source, int count, CompressMethod method, bool qemu10 = false) => Send(source, count, method, QemuSync.PerSection, qemu10);

    /// <summary>
    /// As <see cref="Send(FakeMultifdSource, int, CompressMethod, bool)"/>, with the barriers where a QEMU of <paramref name="sync"/>'s
    /// shape puts them: per round (QEMU 8.1+ on its own machine types) the SYNCs and a MULTIFD_FLUSH record (0x200) end the
    /// setup section and mark the wrap before the pages are sent again, EOS comes alone, and complete is as that version's.
    /// </summary>
    public static byte[] Send(FakeMultifdSource source, int count, CompressMethod method, QemuSync sync, bool qemu10 = false)
    {
        var channels = new NetworkStream[count];
        for (int i = 0; i < count; i++)
        {
            channels[i] = source.Connect(FakeMultifdSource.Hello((byte)i));
        }

        var compressors = new PacketCompressor?[count];
        byte[] expected = new byte[FakeMultifdSource.BlockSize];
        try
        {
            for (int i = 0; i < count; i++)
            {
                compressors[i] = ZstdStreamPacketCompressor.CreateQemuShaped(method, 1);
            }

            int next = 0;
            MigrationStreamWriter main = source.Writer;

            bool perRound = sync != QemuSync.PerSection;

            // Setup: the START section (block list, written by the fake source) ends after a SYNC on every channel (per
            // round: and a MULTIFD_FLUSH record, which is how a destination tells the mode).
            if (perRound)
            {
                Flush(source, channels, method, qemu10);
            }

            EndSection(source, channels, method, sync: !perRound, qemu10);

            // Section 1: every page, every tenth one zero (a ZERO record on the main channel, or a zero page in the packet).
            main.WriteSectionHeader(SectionType.Part, 2);
            SendPages(main, channels, compressors, method, expected, Enumerable.Range(0, Pages).ToArray(), version: 1, qemu10, ref next);
            EndSection(source, channels, method, sync: !perRound, qemu10);

            // Section 2: the first 60 pages again, 50..59 now zero; the order across sections (per round: across the
            // wrap's barrier, mid-section) is what the barrier keeps.
            main.WriteSectionHeader(SectionType.Part, 2);
            if (perRound)
            {
                Flush(source, channels, method, qemu10);
            }

            SendPages(main, channels, compressors, method, expected, Enumerable.Range(0, 60).ToArray(), version: 2, qemu10, ref next);
            EndSection(source, channels, method, sync: !perRound, qemu10);

            // Section 3: pages 150..159, which held data, all zero now (with qemu10 one packet of zero pages only).
            main.WriteSectionHeader(SectionType.Part, 2);
            SendPages(main, channels, compressors, method, expected, Enumerable.Range(150, 10).ToArray(), version: 4, qemu10, ref next);
            EndSection(source, channels, method, sync: !perRound, qemu10);
            if (qemu10)
            {
                main.WriteRaw([0x08, 0x00, 0x0B, 0x00, 0x00]); // SWITCHOVER_START
            }

            // END: a few pages once more (per round: after the last barrier, reached only by reading the channels to their
            // end), then complete as each version has it, and the device state instead of Engine's EOF.
            main.WriteSectionHeader(SectionType.End, 2);
            SendPages(main, channels, compressors, method, expected, Enumerable.Range(100, 10).ToArray(), version: 3, qemu10, ref next);
            switch (sync)
            {
                case QemuSync.PerRound81:
                    Flush(source, channels, method, qemu10);
                    break;
                case QemuSync.PerRound91:
                    // A SYNC on every channel with no MULTIFD_FLUSH: never matched by a barrier.
                    Syncs(channels, method, qemu10);
                    break;
            }

            EndSection(source, channels, method, sync: !perRound, qemu10);
            main.WriteRaw(LivePeerTests.DeviceState());
            main.Flush();
            source.Main.Socket.Shutdown(SocketShutdown.Send);
            foreach (NetworkStream channel in channels)
            {
                channel.Socket.Shutdown(SocketShutdown.Send);
            }

            return expected;
        }
        finally
        {
            foreach (PacketCompressor? compressor in compressors)
            {
                compressor?.Dispose();
            }
        }
    }

    /// <summary>Page <paramref name="page"/>'s content in <paramref name="version"/>: zero for every tenth page in version 1, 50..59 in version 2, all in version 4.</summary>
    private static void Fill(Span<byte> target, int page, int version)
    {
        if ((version == 1 && page % 10 == 0) || (version == 2 && page >= 50) || version == 4)
        {
            target.Clear();
            return;
        }

        for (int i = 0; i < target.Length; i++)
        {
            target[i] = (byte)((i / 64 * 7) + (page * 31) + (version * 101));
        }
    }

    private static void SendPages(MigrationStreamWriter main, NetworkStream[] channels, PacketCompressor?[] compressors, CompressMethod method, byte[] expected, int[] pages, int version, bool qemu10, ref int next)
    {
        byte[] buffer = new byte[MultifdFormat.PagesPerPacket * PageSizes.PageSize];
        byte[] output = new byte[PacketCompressor.OutputBound];
        var offsets = new List<long>();
        var zeros = new List<long>();
        foreach (int page in pages)
        {
            Span<byte> target = expected.AsSpan(page * PageSizes.PageSize, PageSizes.PageSize);
            Fill(target, page, version);
            if (target.IndexOfAnyExcept((byte)0) < 0)
            {
                if (qemu10)
                {
                    zeros.Add((long)page * PageSizes.PageSize);
                }
                else
                {
                    main.WriteZeroPage(0, (long)page * PageSizes.PageSize);
                }
            }
            else
            {
                target.CopyTo(buffer.AsSpan(offsets.Count * PageSizes.PageSize));
                offsets.Add((long)page * PageSizes.PageSize);
            }

            if (offsets.Count + zeros.Count == 50)
            {
                // Packets of 50 pages, round-robin over the channels (QEMU's multifd_send_pages).
                WritePacket(channels[next % channels.Length], compressors[next % channels.Length]);
                next++;
            }
        }

        if (offsets.Count + zeros.Count > 0)
        {
            WritePacket(channels[next % channels.Length], compressors[next % channels.Length]);
            next++;
        }

        main.Flush();

        // One packet of the pages gathered in buffer at offsets, through the channel's one compression stream; the zero
        // pages follow the normal ones in the offset list, in reverse (QEMU 9.0+ swaps them to the tail, unsorted).
        void WritePacket(NetworkStream channel, PacketCompressor? compressor)
        {
            int size = offsets.Count * PageSizes.PageSize;
            ReadOnlySpan<byte> payload = buffer.AsSpan(0, size);
            if (compressor is not null && offsets.Count > 0)
            {
                fixed (byte* input = buffer)
                fixed (byte* o = output)
                {
                    size = compressor.CompressPacket(input, offsets.Count, o);
                }

                payload = output.AsSpan(0, size);
            }

            zeros.Reverse();
            channel.Write(FakeMultifdSource.Header(method, [.. offsets, .. zeros], size, zeroPages: zeros.Count));
            channel.Write(payload);
            offsets.Clear();
            zeros.Clear();
        }
    }

    private static void EndSection(FakeMultifdSource source, NetworkStream[] channels, CompressMethod method, bool sync, bool qemu10)
    {
        if (sync)
        {
            Syncs(channels, method, qemu10);
        }

        source.Writer.EndRamSection();
        source.Writer.Flush();
    }

    /// <summary>Per round: a SYNC on every channel, then the MULTIFD_FLUSH record on the main channel (QEMU's multifd_ram_flush_and_sync).</summary>
    private static void Flush(FakeMultifdSource source, NetworkStream[] channels, CompressMethod method, bool qemu10)
    {
        Syncs(channels, method, qemu10);
        source.Writer.WriteMultifdFlush();
        source.Writer.Flush();
    }

    private static void Syncs(NetworkStream[] channels, CompressMethod method, bool qemu10)
    {
        foreach (NetworkStream channel in channels)
        {
            channel.Write(qemu10 ? FakeMultifdSource.Sync92() : FakeMultifdSource.Header(method, [], 0, sync: true));
        }
    }
}
