using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Transport;

namespace Engine.Multifd;

/// <summary>
/// One multifd send channel: its connection, its thread, its compression stream, and a ring of <see cref="SlotCount"/>
/// batches. The thread checks each page of a batch for zero where it lies (the zero ones are reported back for the main
/// channel), copies the rest into its packet buffer, compresses them with the channel's codec and writes the packet:
/// header, offsets and payload in one write. Uncompressed packets on a plain TCP connection on Linux are not copied: one
/// gather write (<see cref="SocketGather"/>) sends the header and the pages where they lie, as QEMU's <c>writev</c> does.
/// </summary>
/// <remarks>
/// Design: single producer (the migration thread) and single consumer (this thread) over the batch ring, both walking it
/// in the same order. The producer fills the slot at its position only when that slot is Free, publishes it as Submitted
/// (release) and releases <c>_work</c> once; the consumer waits on <c>_work</c>, handles the slot at its position, publishes
/// Done (release) and releases the migration's shared <c>progress</c> semaphore, which the producer waits on when every slot
/// it could use is busy. A failure is stored in <c>_failure</c> (release) before <c>progress</c> is released, so a waiting
/// producer always sees it. Stopping sets <c>_stop</c> and releases <c>_work</c>; the socket is shut down so that a blocked
/// write ends too. Buffers are native, allocated once, freed after the thread is joined.
/// </remarks>
internal sealed unsafe class MultifdSendChannel : IDisposable
{
    /// <summary>Batches in flight per channel: one being sent, others being filled or reaped.</summary>
    public const int SlotCount = 4;

    private readonly int _id;
    private readonly Stream _stream; // a NetworkStream, or TLS over one (TlsTransport)
    private readonly MigrationConnection? _connection;
    private readonly CompressMethod _method;
    private readonly PacketCompressor? _compressor;
    private readonly SemaphoreSlim _work = new(0);
    private readonly SemaphoreSlim _progress;
    private readonly MultifdBatch[] _slots;
    private readonly long[] _normalOffsets = new long[MultifdFormat.PagesPerPacket];
    private readonly StrongBox<long> _packetCounter;
    private readonly byte* _packet;
    private readonly byte* _pages;
    private readonly int _packetCapacity;
    private readonly Socket? _gatherSocket; // set when packets go out by gather writes from the pages (SocketGather)
    private readonly Interop.Libc.IoVec* _iov; // the gather write's buffers: the header, then the pages; null for copies
    private long _gatherWrites;
    private long _shortWrites;
    private Thread? _thread;
    private long _produced;
    private long _consumed;
    private volatile bool _stop;
    private Exception? _failure;
    private long _bytesSent;

    /// <summary>
    /// A channel over <paramref name="stream"/>; with <paramref name="gather"/> (the default) uncompressed packets on a plain
    /// TCP connection on Linux are written from the pages themselves (<see cref="SocketGather"/>).
    /// </summary>
    public MultifdSendChannel(int id, Stream stream, CompressMethod method, int level, SemaphoreSlim progress, StrongBox<long> packetCounter, bool gather = true)
    {
        _id = id;
        _stream = stream;
        _connection = MigrationConnection.Of(stream);
        _method = method;
        _progress = progress;
        _packetCounter = packetCounter;
        _slots = new MultifdBatch[SlotCount];
        for (int i = 0; i < SlotCount; i++)
        {
            _slots[i] = new MultifdBatch();
        }

        // Header and payload side by side, so a packet goes out in one write; uncompressed pages are copied straight there.
        _packetCapacity = MultifdFormat.PacketHeaderLength + Math.Max(MultifdFormat.PacketDataSize, PacketCompressor.OutputBound);
        _packet = (byte*)NativeMemory.AlignedAlloc((nuint)_packetCapacity, 64);
        _pages = _method == CompressMethod.None ? _packet + MultifdFormat.PacketHeaderLength : (byte*)NativeMemory.AlignedAlloc(MultifdFormat.PacketDataSize, 64);

        // Uncompressed pages over a plain TCP connection on Linux go out as QEMU sends them, one gather write of the header
        // and the pages where they lie, without the copy into the packet buffer. TLS, compression and any other stream (a
        // pipe, a test's wrapper) keep the copy and the stream's write.
        if (gather && _method == CompressMethod.None && SocketGather.IsSupported && stream.GetType() == typeof(NetworkStream))
        {
            _gatherSocket = ((NetworkStream)stream).Socket;
            _iov = (Interop.Libc.IoVec*)NativeMemory.Alloc((nuint)(MultifdFormat.PagesPerPacket + 1), (nuint)sizeof(Interop.Libc.IoVec));
        }

        try
        {
            _compressor = PacketCompressor.Create(_method, level);
        }
        catch
        {
            FreeBuffers();
            throw;
        }
    }

    /// <summary>The channel's id (0..N-1).</summary>
    public int Id => _id;

    /// <summary>Bytes written on this connection (hello and packets).</summary>
    public long BytesSent => Volatile.Read(ref _bytesSent);

    /// <summary>True when the channel's packets are gather writes from the pages (no copy into the packet buffer).</summary>
    public bool Gathers => _iov is not null;

    /// <summary>Packets written by gather writes; read after the thread is joined (<see cref="Stop"/>).</summary>
    public long GatherWrites => _gatherWrites;

    /// <summary>sendmsg calls of the gather writes that took less than was left (the socket's buffer was full); read after <see cref="Stop"/>.</summary>
    public long ShortWrites => _shortWrites;

    /// <summary>The failure that stopped the thread, if any (acquire: written before <c>progress</c> is released).</summary>
    public Exception? Failure => Volatile.Read(ref _failure);

    /// <summary>The slot the migration thread fills next.</summary>
    public MultifdBatch Next => _slots[_produced % SlotCount];

    /// <summary>Sends the hello (on the caller's thread, before the stream starts) and starts the channel's thread.</summary>
    public void Start(ReadOnlySpan<byte> uuid)
    {
        Span<byte> hello = stackalloc byte[MultifdFormat.HelloLength];
        MultifdFormat.WriteHello(hello, uuid, (byte)_id);
        _stream.Write(hello);
        _bytesSent = MultifdFormat.HelloLength;
        _thread = new Thread(Loop) { IsBackground = true, Name = $"multifdsend_{_id}" };
        _thread.Start();
    }

    /// <summary>Publishes <see cref="Next"/> (filled, Free before) to the channel's thread.</summary>
    public void Submit()
    {
        MultifdBatch batch = Next;
        _produced++;

        // Release: the batch's fields are written before the thread can see it Submitted.
        Volatile.Write(ref batch.State, MultifdBatch.Submitted);
        _work.Release();
    }

    /// <summary>Every slot, for the migration thread to drain at a section's end.</summary>
    public ReadOnlySpan<MultifdBatch> Slots => _slots;

    /// <summary>Stops the thread (after its current packet), ends the connection's sending side and waits for the thread.</summary>
    public void Stop(bool graceful)
    {
        _stop = true;
        _work.Release();
        if (!graceful)
        {
            _connection?.Shutdown();
        }

        _thread?.Join();
        if (graceful)
        {
            // Over TLS a close_notify before the FIN: QEMU 10 destinations treat a channel's unclean end as an error. A
            // connection that is gone is no error here: the destination's reply on the main channel says what it received.
            _connection?.TryShutdownSend();
        }
    }

    public void Dispose()
    {
        Stop(graceful: false);
        _compressor?.Dispose();
        _stream.Dispose();
        FreeBuffers();
        _work.Dispose();
    }

    private void FreeBuffers()
    {
        if (_pages != _packet + MultifdFormat.PacketHeaderLength)
        {
            NativeMemory.AlignedFree(_pages);
        }

        NativeMemory.AlignedFree(_packet);
        NativeMemory.Free(_iov);
    }

    private void Loop()
    {
        try
        {
            while (true)
            {
                _work.Wait();
                if (_stop)
                {
                    return;
                }

                MultifdBatch batch = _slots[_consumed % SlotCount];

                // Acquire: pairs with Submit's release, so the batch's fields are visible.
                if (Volatile.Read(ref batch.State) != MultifdBatch.Submitted)
                {
                    throw new InvalidOperationException($"multifd channel {_id}: slot {_consumed % SlotCount} was signalled but not submitted");
                }

                Send(batch);
                _consumed++;

                // Release: the results are written before the migration thread sees Done.
                Volatile.Write(ref batch.State, MultifdBatch.Done);
                _progress.Release();
            }
        }
        catch (Exception e)
        {
            Exception failure = _stop ? new OperationCanceledException($"multifd channel {_id} stopped") : e is IOException or SocketException
                ? new IOException($"multifd channel {_id}: the connection failed: {e.Message}", e)
                : e;
            Volatile.Write(ref _failure, failure);
            _progress.Release();
        }
    }

    private void Send(MultifdBatch batch)
    {
        int normal = 0;
        int zero = 0;
        RamBlock? block = batch.Block;

        // A relay's batch carries its pages' bytes (MultifdBatch.Pages) instead of a block to read them from; they stay
        // pinned until the packet is written (a gather write points at them).
        fixed (byte* staged = batch.Pages)
        {
            Interop.Libc.IoVec* iov = _iov;
            int iovCount = 1;
            for (int i = 0; i < batch.Count; i++)
            {
                long offset = batch.Offsets[i];
                byte* page = staged != null ? staged + ((long)i * PageSizes.PageSize) : block!.GetPagePointer(offset);

                // The zero check reads the page where it is, and only a page with data is copied (the codec and the packet
                // then see that one copy), or with a gather write not copied at all: most pages of a guest are zero, and
                // copying them only to find them zero was most of the copies' work. A page the guest writes while it is
                // checked (or sent) may be judged (or sent) either way, as QEMU's in-place check (9.0+) and its writev from
                // guest memory may: the write is in the dirty log's next sync, so the page is sent again, and once the guest
                // is paused for the last round nothing writes.
                if (ZeroPage.IsZero(new ReadOnlySpan<byte>(page, PageSizes.PageSize)))
                {
                    batch.ZeroOffsets[zero++] = offset;
                    continue;
                }

                if (iov is null)
                {
                    Buffer.MemoryCopy(page, _pages + ((long)normal * PageSizes.PageSize), PageSizes.PageSize, PageSizes.PageSize);
                }
                else if (iovCount > 1 && (byte*)iov[iovCount - 1].iov_base + iov[iovCount - 1].iov_len == page)
                {
                    // Pages next to each other in memory go in one buffer.
                    iov[iovCount - 1].iov_len += PageSizes.PageSize;
                }
                else
                {
                    iov[iovCount++] = new Interop.Libc.IoVec { iov_base = page, iov_len = PageSizes.PageSize };
                }

                _normalOffsets[normal++] = offset;
            }

            batch.ZeroCount = zero;
            batch.NormalPages = normal;
            if (normal == 0 && !batch.Sync)
            {
                // Every page was zero: nothing for this channel to send.
                return;
            }

            int payload = 0;
            uint flags = batch.Sync ? MultifdFormat.FlagSync : 0;
            if (normal > 0)
            {
                flags |= MultifdFormat.CompressionFlag(_method);
                payload = _compressor is null
                    ? normal * PageSizes.PageSize
                    : _compressor.CompressPacket(_pages, normal, _packet + MultifdFormat.PacketHeaderLength);
            }

            ulong packetNumber = (ulong)(Interlocked.Increment(ref _packetCounter.Value) - 1);
            var header = new Span<byte>(_packet, MultifdFormat.PacketHeaderLength);
            MultifdFormat.WritePacketHeader(header, flags, normal, payload, packetNumber, batch.BlockName, _normalOffsets.AsSpan(0, normal));
            int length = MultifdFormat.PacketHeaderLength + payload;
            if (iov is null)
            {
                _stream.Write(new ReadOnlySpan<byte>(_packet, length));
            }
            else
            {
                // The header, then the pages where they are: the kernel's copy into the socket is the only one. The pages
                // (guest memory, or a relay batch's pinned bytes) are not needed once sendmsg has returned.
                iov[0] = new Interop.Libc.IoVec { iov_base = _packet, iov_len = MultifdFormat.PacketHeaderLength };
                _shortWrites += SocketGather.WriteAll(_gatherSocket!, iov, iovCount);
                _gatherWrites++;
            }

            batch.PayloadBytes = payload;
            batch.WireBytes = length;
            Volatile.Write(ref _bytesSent, _bytesSent + length);
        }
    }
}
