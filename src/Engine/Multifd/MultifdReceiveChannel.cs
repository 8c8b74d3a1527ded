using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Transport;

namespace Engine.Multifd;

/// <summary>
/// One multifd receive channel: a thread that reads packets from its connection straight into guest memory, decompressing
/// with the channel's one stream, and stops at each SYNC until the main channel reaches the matching EOS.
/// </summary>
/// <remarks>
/// Design: the main thread publishes the guest memory (<see cref="MultifdReceiveState"/>) before the channel reads its first
/// packet. At a SYNC packet the channel releases <c>_synced</c> and waits on <c>_release</c>; the main thread, at EOS, takes
/// one <c>_synced</c> from every channel and then releases each (QEMU's <c>multifd_recv_sync_main</c>). A failure is stored
/// (release) before <c>_synced</c> is released, so a main thread waiting there sees it; a clean end of the connection at a
/// packet boundary sets <c>_ended</c> the same way. Every field of a packet is checked before it is used
/// (<see cref="MultifdPacketParser"/>), so nothing is written outside the named block's pages; a packet's zero pages
/// (QEMU 9.0+) are made zero where they are not already (<see cref="RamBlock.MakeZero"/>: on a destination's block, only
/// pages the bit per written page marks; the bits of one word are set and cleared by several channels, atomically). With
/// <see cref="MultifdReceiveState.TrackPages"/> the channel also lists the pages it wrote since its last SYNC; the list is
/// written by the channel thread before it releases <c>_synced</c> and read and cleared by the main thread before it
/// releases <c>_release</c>, so the semaphores order every access. At RAM's end in per-round mode the main thread drains the
/// channel (<see cref="BeginDrain"/>): SYNCs no longer stop it, and the main thread reads its list only after joining it.
/// </remarks>
internal sealed unsafe class MultifdReceiveChannel : IDisposable
{
    /// <summary>The longest the close_notify of a clean end may take.</summary>
    private static readonly TimeSpan CloseTimeout = TimeSpan.FromSeconds(5);

    private readonly int _id;
    private readonly Stream _stream; // a NetworkStream, or TLS over one (TlsTransport)
    private readonly MigrationConnection? _connection;
    private readonly CompressMethod _method;
    private readonly MultifdReceiveState _state;
    private readonly PacketDecompressor? _decompressor;
    private readonly SemaphoreSlim _synced = new(0);
    private readonly SemaphoreSlim _release = new(0);
    private readonly byte* _header;
    private readonly byte* _payload;
    private readonly long[] _offsets = new long[MultifdFormat.PagesPerPacket];
    private long[] _received = [];
    private int _receivedCount;
    private Thread? _thread;
    private long _position = MultifdFormat.HelloLength;
    private long _pages;
    private long _zeroPages;
    private long _packets;
    private volatile bool _stop;
    private volatile bool _ended;
    private volatile bool _draining;
    private Exception? _failure;

    public MultifdReceiveChannel(int id, Stream stream, CompressMethod method, MultifdReceiveState state)
    {
        _id = id;
        _stream = stream;
        _connection = MigrationConnection.Of(stream);
        _method = method;
        _state = state;
        _header = (byte*)NativeMemory.AlignedAlloc(MultifdFormat.PacketHeaderLength, 64);
        _payload = method == CompressMethod.None ? null : (byte*)NativeMemory.AlignedAlloc(MultifdFormat.MaxCompressedPayload, 64);
        try
        {
            _decompressor = PacketDecompressor.Create(method);
        }
        catch
        {
            FreeBuffers();
            throw;
        }
    }

    public int Id => _id;

    /// <summary>Pages written into guest memory from packet data (the packets' normal pages).</summary>
    public long Pages => Volatile.Read(ref _pages);

    /// <summary>Zero pages the packets named (QEMU 9.0+'s <c>zero_pages</c>), made zero in guest memory.</summary>
    public long ZeroPages => Volatile.Read(ref _zeroPages);

    /// <summary>Bytes read from the connection, the hello included.</summary>
    public long Position => Volatile.Read(ref _position);

    /// <summary>Packets read.</summary>
    public long Packets => Volatile.Read(ref _packets);

    /// <summary>The failure that stopped the thread (acquire: written before <c>_synced</c> is released).</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>With <see cref="MultifdReceiveState.TrackPages"/>: pages written since the last SYNC, zero pages included (read only while the channel waits at a SYNC).</summary>
    public int ReceivedCount => _receivedCount;

    /// <summary>Copies the pages written since the last SYNC, packed (<see cref="Unpack"/>), to <paramref name="target"/>.</summary>
    public void CopyReceived(Span<long> target) => _received.AsSpan(0, _receivedCount).CopyTo(target);

    /// <summary>A tracked page's offset, and its block index in <paramref name="block"/>.</summary>
    public static long Unpack(long entry, out int block)
    {
        block = (int)(entry >>> BlockShift);
        return entry & ((1L << BlockShift) - 1);
    }

    /// <summary>Forgets the pages written so far: call while the channel waits at its SYNC, before <see cref="Release"/>.</summary>
    public void ClearReceived() => _receivedCount = 0;

    // A tracked page is one long: the block index above bit 48, the byte offset below (blocks are far smaller than 2^48).
    private const int BlockShift = 48;

    public void Start()
    {
        _thread = new Thread(Loop) { IsBackground = true, Name = $"multifdrecv_{_id}" };
        _thread.Start();
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for this channel's SYNC; false on timeout. Throws the channel's failure, or
    /// <see cref="MultifdChannelException"/> if its connection ended first.
    /// </summary>
    public bool WaitForSync(TimeSpan timeout)
    {
        if (_synced.Wait(timeout))
        {
            if (Failure is Exception failure)
            {
                throw failure;
            }

            if (_ended)
            {
                throw new MultifdChannelException(_id, Position, "the connection ended before the SYNC that the main channel's barrier (its EOS, or a MULTIFD_FLUSH record) waits for");
            }

            return true;
        }

        return false;
    }

    /// <summary>Lets the channel go on past its SYNC.</summary>
    public void Release() => _release.Release();

    /// <summary>
    /// Lets the channel read on to the end of its connection: SYNC packets no longer stop it (QEMU 9.1/9.2 send one at
    /// complete that no barrier matches), and one it waits at now is released. Pages are still written (and tracked).
    /// </summary>
    public void BeginDrain()
    {
        // Before the release: a channel that read the flag as false waits on _release, which this release then frees; one
        // that reads it as true does not wait, and the spare count is never taken.
        _draining = true;
        _release.Release();
    }

    /// <summary>
    /// Waits up to <paramref name="timeout"/> for the channel's thread to end (the connection's end, or a failure: see
    /// <see cref="Failure"/>); false on timeout. After true, the tracked pages may be read.
    /// </summary>
    public bool WaitForEnd(TimeSpan timeout) => _thread is null || _thread.Join(timeout);

    /// <summary>
    /// Stops the thread: shuts the connection down (a blocked read ends) and joins it. <paramref name="graceful"/>, after the
    /// source ended the channel cleanly: over TLS a close_notify goes back first, so that neither end sees an unclean close.
    /// </summary>
    public void Stop(bool graceful = false)
    {
        _stop = true;
        _release.Release();
        if (graceful && _ended)
        {
            _thread?.Join(); // it has returned or is returning: the stream is free to write on
            _connection?.TryShutdownSend(CloseTimeout); // a source that has gone already needs nothing more
        }

        _connection?.Shutdown();
        _thread?.Join();
    }

    public void Dispose()
    {
        Stop();
        _decompressor?.Dispose();
        _stream.Dispose();
        FreeBuffers();
        _synced.Dispose();
        _release.Dispose();
    }

    private void FreeBuffers()
    {
        NativeMemory.AlignedFree(_header);
        if (_payload is not null)
        {
            NativeMemory.AlignedFree(_payload);
        }
    }

    private void Loop()
    {
        try
        {
            if (!_state.WaitForMemory(() => _stop))
            {
                return;
            }

            RamBlock[] blocks = _state.Blocks;
            while (!_stop)
            {
                if (!ReadPacketHeader(out MultifdPacketHeader packet, out int blockIndex))
                {
                    // A clean end between packets: the source is done with this channel (or gone; the main channel knows).
                    _ended = true;
                    _synced.Release();
                    return;
                }

                if (packet.TotalPages > 0)
                {
                    WritePacket(blocks[blockIndex], blockIndex, packet);
                }

                Volatile.Write(ref _packets, _packets + 1);
                if (packet.IsSync && !_draining)
                {
                    // Pages first (above), then the barrier: wait until the main channel reaches its EOS.
                    _synced.Release();
                    _release.Wait();
                }
            }
        }
        catch (Exception e)
        {
            Exception failure = e is MultifdChannelException ? e
                : _stop ? new OperationCanceledException($"multifd channel {_id} stopped", e)
                : new MultifdChannelException(_id, Position, $"{(e is IOException ? "the connection failed" : e.GetType().Name)}: {e.Message}", e);
            Volatile.Write(ref _failure, failure);
            _synced.Release();
            _state.ReportFailure(failure);
        }
    }

    /// <summary>
    /// Reads the next packet header into <c>_header</c> and checks it (its offsets into <c>_offsets</c>); false at a clean
    /// end of the connection before it. The 12 common bytes come first and are checked alone: a packet Engine cannot carry
    /// (a device-state packet is 276 bytes, not 1,344) is refused by name without waiting for bytes it may never have.
    /// </summary>
    private bool ReadPacketHeader(out MultifdPacketHeader packet, out int blockIndex)
    {
        packet = default;
        blockIndex = -1;
        var common = new Span<byte>(_header, MultifdFormat.CommonHeaderLength);
        int got = ReadFully(common);
        if (got == 0)
        {
            return false;
        }

        string? error;
        int errorOffset;
        if (got == common.Length && !MultifdPacketHeader.TryParseCommon(common, out _, out error, out errorOffset))
        {
            throw Error(_position + errorOffset, error!);
        }

        var header = new Span<byte>(_header, MultifdFormat.PacketHeaderLength);
        if (got == common.Length)
        {
            got += ReadFully(header[common.Length..]);
        }

        if (got < header.Length)
        {
            throw Error(_position + got, $"the connection ended inside a packet header ({got} of {MultifdFormat.PacketHeaderLength} bytes)");
        }

        if (!MultifdPacketParser.TryParse(header, _method, _state.BlockNames, _state.BlockSizes, _offsets, out packet, out blockIndex, out error, out errorOffset))
        {
            throw Error(_position + errorOffset, error!);
        }

        Advance(MultifdFormat.PacketHeaderLength);
        return true;
    }

    /// <summary>Applies a checked packet with pages to <paramref name="block"/>: its zero pages, then its normal pages read from the connection.</summary>
    private void WritePacket(RamBlock block, int blockIndex, in MultifdPacketHeader packet)
    {
        if (packet.ZeroPages > 0)
        {
            WriteZeroPages(block, packet);
        }

        if (packet.NormalPages > 0)
        {
            ReadPages(block, packet);
        }

        if (_state.TrackPages)
        {
            // Zero pages too: the relay re-sends every page the section touched, and encodes an all-zero page as a ZERO record.
            Track(blockIndex, packet.TotalPages);
        }
    }

    /// <summary>
    /// Makes the packet's zero pages (offset slots after the normal ones) zero. As the main channel's ZERO record and
    /// QEMU's <c>multifd_recv_zero_page_process</c>: memory that is zero already is not written (not faulted in), only a
    /// page that held data (from an earlier round) is cleared.
    /// </summary>
    private void WriteZeroPages(RamBlock block, in MultifdPacketHeader packet)
    {
        int end = packet.TotalPages;
        for (int i = packet.NormalPages; i < end; i++)
        {
            // A destination's block (its bit per written page) touches only a page it wrote; others read the page first.
            block.MakeZero(_offsets[i]);
        }

        Volatile.Write(ref _zeroPages, _zeroPages + packet.ZeroPages);
    }

    private void ReadPages(RamBlock block, in MultifdPacketHeader packet)
    {
        int count = packet.NormalPages;
        if (_decompressor is null)
        {
            // none: each page read straight into its place in guest memory.
            for (int i = 0; i < count; i++)
            {
                Span<byte> page = block.GetPage(_offsets[i]);
                block.MarkWritten(_offsets[i]);
                int got = ReadFully(page);
                if (got < page.Length)
                {
                    throw Error(_position + got, $"the connection ended inside page {i} of {count} of a packet");
                }

                Advance(page.Length);
            }
        }
        else
        {
            int size = packet.NextPacketSize;
            int got = ReadFully(new Span<byte>(_payload, size));
            if (got < size)
            {
                throw Error(_position + got, $"the connection ended inside a compressed packet ({got} of next_packet_size {size} bytes)");
            }

            long payloadStart = _position;
            _decompressor.Begin(_payload, size);
            for (int i = 0; i < count; i++)
            {
                block.MarkWritten(_offsets[i]);
                if (!_decompressor.DecodePage(block.GetPagePointer(_offsets[i]), last: i == count - 1))
                {
                    throw Error(payloadStart + _decompressor.Consumed, $"page {i} of {count} (block '{block.Name}', offset 0x{_offsets[i]:X}): {_decompressor.Error}");
                }
            }

            if (!_decompressor.End())
            {
                throw Error(payloadStart + _decompressor.Consumed, _decompressor.Error!);
            }

            Advance(size);
        }

        Volatile.Write(ref _pages, _pages + count);
    }

    private void Track(int blockIndex, int count)
    {
        if (_receivedCount + count > _received.Length)
        {
            // Grows by doubling: allocations stop once the largest section has been seen, none per page.
            Array.Resize(ref _received, Math.Max(_received.Length * 2, _receivedCount + MultifdFormat.PagesPerPacket));
        }

        for (int i = 0; i < count; i++)
        {
            _received[_receivedCount++] = ((long)blockIndex << BlockShift) | _offsets[i];
        }
    }

    private void Advance(long bytes) => Volatile.Write(ref _position, _position + bytes);

    private MultifdChannelException Error(long offset, string message) => new(_id, offset, message);

    /// <summary>Reads until <paramref name="buffer"/> is full or the connection ends; returns the bytes read.</summary>
    private int ReadFully(Span<byte> buffer)
    {
        int total = 0;
        while (total < buffer.Length)
        {
            int n = _stream.Read(buffer[total..]);
            if (n == 0)
            {
                break;
            }

            total += n;
        }

        return total;
    }
}
