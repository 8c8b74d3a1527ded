using System.Net.Sockets;
using Engine.Codecs;
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
internal static unsafe class QemuShapedMultifd
{
    /// <summary>Pages of pc.ram the migration touches (of 256 in the 1 MiB block).</summary>
    private const int Pages = 200;

    /// <summary>Connects <paramref name="count"/> channels, sends the migration and closes every connection's sending side. Returns pc.ram as it must end.</summary>
    public static byte[] Send(FakeMultifdSource source, int count, CompressMethod method) => Send(source, count, method, QemuSync.PerSection);

    /// <summary>
    /// As <see cref="Send(FakeMultifdSource, int, CompressMethod)"/>, with the barriers where a QEMU of <paramref name="sync"/>'s
    /// shape puts them: per round (QEMU 8.1+ on its own machine types) the SYNCs and a MULTIFD_FLUSH record (0x200) end the
    /// setup section and mark the wrap before the pages are sent again, EOS comes alone, and complete is as that version's.
    /// </summary>
    public static byte[] Send(FakeMultifdSource source, int count, CompressMethod method, QemuSync sync)
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
                compressors[i] = PacketCompressor.Create(method, 1);
            }

            int next = 0;
            MigrationStreamWriter main = source.Writer;

            bool perRound = sync != QemuSync.PerSection;

            // Setup: the START section (block list, written by the fake source) ends after a SYNC on every channel (per
            // round: and a MULTIFD_FLUSH record, which is how a destination tells the mode).
            if (perRound)
            {
                Flush(source, channels, method);
            }

            EndSection(source, channels, method, sync: !perRound);

            // Section 1: every page, every tenth one zero (a ZERO record on the main channel).
            main.WriteSectionHeader(SectionType.Part, 2);
            SendPages(main, channels, compressors, method, expected, Enumerable.Range(0, Pages).ToArray(), version: 1, ref next);
            EndSection(source, channels, method, sync: !perRound);

            // Section 2: the first 60 pages again, 50..59 now zero; the order across sections (per round: across the
            // wrap's barrier, mid-section) is what the barrier keeps.
            main.WriteSectionHeader(SectionType.Part, 2);
            if (perRound)
            {
                Flush(source, channels, method);
            }

            SendPages(main, channels, compressors, method, expected, Enumerable.Range(0, 60).ToArray(), version: 2, ref next);
            EndSection(source, channels, method, sync: !perRound);

            // END: a few pages once more (per round: after the last barrier, reached only by reading the channels to their
            // end), then complete as each version has it, and the device state instead of Engine's EOF.
            main.WriteSectionHeader(SectionType.End, 2);
            SendPages(main, channels, compressors, method, expected, Enumerable.Range(100, 10).ToArray(), version: 3, ref next);
            switch (sync)
            {
                case QemuSync.PerRound81:
                    Flush(source, channels, method);
                    break;
                case QemuSync.PerRound91:
                    // A SYNC on every channel with no MULTIFD_FLUSH: never matched by a barrier.
                    Syncs(channels, method);
                    break;
            }

            EndSection(source, channels, method, sync: !perRound);
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

    /// <summary>Page <paramref name="page"/>'s content in <paramref name="version"/>: zero for every tenth page in version 1 and 50..59 in version 2.</summary>
    private static void Fill(Span<byte> target, int page, int version)
    {
        if ((version == 1 && page % 10 == 0) || (version == 2 && page >= 50))
        {
            target.Clear();
            return;
        }

        for (int i = 0; i < target.Length; i++)
        {
            target[i] = (byte)((i / 64 * 7) + (page * 31) + (version * 101));
        }
    }

    private static void SendPages(MigrationStreamWriter main, NetworkStream[] channels, PacketCompressor?[] compressors, CompressMethod method, byte[] expected, int[] pages, int version, ref int next)
    {
        byte[] buffer = new byte[MultifdFormat.PagesPerPacket * PageSizes.PageSize];
        byte[] output = new byte[PacketCompressor.OutputBound];
        var offsets = new List<long>();
        foreach (int page in pages)
        {
            Span<byte> target = expected.AsSpan(page * PageSizes.PageSize, PageSizes.PageSize);
            Fill(target, page, version);
            if (target.IndexOfAnyExcept((byte)0) < 0)
            {
                main.WriteZeroPage(0, (long)page * PageSizes.PageSize);
                continue;
            }

            target.CopyTo(buffer.AsSpan(offsets.Count * PageSizes.PageSize));
            offsets.Add((long)page * PageSizes.PageSize);
            if (offsets.Count == 50)
            {
                // Packets of 50 pages, round-robin over the channels (QEMU's multifd_send_pages).
                WritePacket(channels[next % channels.Length], compressors[next % channels.Length]);
                next++;
            }
        }

        if (offsets.Count > 0)
        {
            WritePacket(channels[next % channels.Length], compressors[next % channels.Length]);
            next++;
        }

        main.Flush();

        // One packet of the pages gathered in buffer at offsets, through the channel's one compression stream.
        void WritePacket(NetworkStream channel, PacketCompressor? compressor)
        {
            int size = offsets.Count * PageSizes.PageSize;
            ReadOnlySpan<byte> payload = buffer.AsSpan(0, size);
            if (compressor is not null)
            {
                fixed (byte* input = buffer)
                fixed (byte* o = output)
                {
                    size = compressor.CompressPacket(input, offsets.Count, o);
                }

                payload = output.AsSpan(0, size);
            }

            channel.Write(FakeMultifdSource.Header(method, offsets.ToArray(), size));
            channel.Write(payload);
            offsets.Clear();
        }
    }

    private static void EndSection(FakeMultifdSource source, NetworkStream[] channels, CompressMethod method, bool sync)
    {
        if (sync)
        {
            Syncs(channels, method);
        }

        source.Writer.EndRamSection();
        source.Writer.Flush();
    }

    /// <summary>Per round: a SYNC on every channel, then the MULTIFD_FLUSH record on the main channel (QEMU's multifd_ram_flush_and_sync).</summary>
    private static void Flush(FakeMultifdSource source, NetworkStream[] channels, CompressMethod method)
    {
        Syncs(channels, method);
        source.Writer.WriteMultifdFlush();
        source.Writer.Flush();
    }

    private static void Syncs(NetworkStream[] channels, CompressMethod method)
    {
        foreach (NetworkStream channel in channels)
        {
            channel.Write(FakeMultifdSource.Header(method, [], 0, sync: true));
        }
    }
}
