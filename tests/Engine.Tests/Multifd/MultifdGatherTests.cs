using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Transport;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// multifd none on plain TCP sends each packet as one gather write from the pages (<see cref="SocketGather"/>): byte-exact
/// at an Engine destination, with short writes, and failing as a stream's write fails (a reset, a peer that stops
/// reading, a shutdown from another thread).
/// </summary>
public sealed class MultifdGatherTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    [Theory(Timeout = 60_000)]
    [InlineData(2, false)]
    [InlineData(3, true)]
    public async Task NoneOverLoopbackIsGatheredAndByteExact(int channels, bool smallSendBuffer)
    {
        Assert.True(SocketGather.IsSupported, "the tests run on 64-bit Linux");

        // Two blocks, so packets change block; a small send buffer makes most sendmsg calls take part of a packet.
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20), new("vga.vram", 4L << 20)], seed: (ulong)(31 + channels));
        var parameters = new MigrationParameters { MaxBandwidth = 0 };
        var multifd = new MigrationParameters { MultifdChannels = channels, MultifdCompression = CompressMethod.None };
        Action<Socket>? configure = smallSendBuffer ? static socket => socket.SendBufferSize = 4096 : null;
        (MigrationResult source, DestinationResult destination, MultifdSource migration) = await MultifdLoopback.Migrate(
            guest, parameters, multifd, serverTls: null, clientTls: null, channelSocket: configure);
        using (destination.Memory)
        {
            Assert.Equal(MigrationStatus.Completed, source.Info.Status);
            Assert.True(source.ChecksumsMatch, "checksums differ");
            for (int b = 0; b < 2; b++)
            {
                long size = guest.Memory.Blocks[b].Size;
                Assert.True(guest.Memory.Blocks[b].GetSpan(0, (int)size).SequenceEqual(destination.Memory.Blocks[b].GetSpan(0, (int)size)), $"block {b} differs");
            }

            // Every packet with data, and the SYNC packets, went out as gather writes.
            Assert.True(destination.RawPages > 1000, $"{destination.RawPages} pages with data");
            Assert.True(migration.GatherWrites >= (destination.RawPages / MultifdFormat.PagesPerPacket) + channels, $"{migration.GatherWrites} gather writes");
            Assert.True(migration.GatherWrites <= migration.Packets, $"{migration.GatherWrites} gather writes, {migration.Packets} packets");
            if (smallSendBuffer)
            {
                Assert.True(migration.ShortWrites > 0, "no sendmsg was short with a 4 KiB send buffer");
            }
        }
    }

    [Fact(Timeout = 30_000)]
    public async Task ShortWritesSendEveryByteInOrder()
    {
        // Buffers of odd lengths, some empty, through a 4 KiB send buffer to a slow reader.
        int[] lengths = [1, 4096, 0, 70_001, 3, 131_072, 12_345, 0, 1];
        byte[][] buffers = lengths.Select((length, i) =>
        {
            byte[] buffer = new byte[length];
            new Random(i).NextBytes(buffer);
            return buffer;
        }).ToArray();
        byte[] expected = buffers.SelectMany(b => b).ToArray();
        (NetworkStream sender, NetworkStream receiver) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sender)
        using (receiver)
        {
            sender.Socket.SendBufferSize = 4096;
            Task<byte[]> reading = Task.Factory.StartNew(() =>
            {
                var received = new MemoryStream();
                byte[] chunk = new byte[1500];
                int read;
                while ((read = receiver.Read(chunk)) > 0)
                {
                    received.Write(chunk, 0, read);
                    if (received.Length % 7 == 0)
                    {
                        Thread.Sleep(1);
                    }
                }

                return received.ToArray();
            }, TaskCreationOptions.LongRunning);

            int shortWrites = GatherWrite(sender.Socket, buffers);
            sender.Socket.Shutdown(SocketShutdown.Send);
            byte[] received = await reading.WaitAsync(IoTimeout);
            Assert.True(shortWrites > 0, "no sendmsg was short");
            Assert.True(expected.AsSpan().SequenceEqual(received), "the bytes differ");
        }
    }

    [Fact] // bounded by the writer thread's join (10 s)
    public void APeerThatStopsReadingFailsAsAStreamWriteDoes()
    {
        // The same send timeout on both: the stream's write and the gather write end with the same error and message.
        IOException streamFailure = FailWhileBlocked(TimeSpan.FromMilliseconds(300), gather: false, peer: null);
        IOException gatherFailure = FailWhileBlocked(TimeSpan.FromMilliseconds(300), gather: true, peer: null);
        Assert.Equal(streamFailure.Message, gatherFailure.Message);
        Assert.Equal(SocketError.TimedOut, Assert.IsType<SocketException>(gatherFailure.InnerException).SocketErrorCode);
        Assert.Equal(((SocketException)streamFailure.InnerException!).SocketErrorCode, ((SocketException)gatherFailure.InnerException!).SocketErrorCode);
    }

    [Fact] // bounded by the writer thread's join (10 s)
    public void APeerResetInTheMiddleOfAGatherWriteFailsIt()
    {
        // The peer resets (linger 0) while a write waits for room: the gather write fails as the stream's write does.
        static void Reset(Socket peer)
        {
            peer.LingerState = new LingerOption(true, 0);
            peer.Close();
        }

        IOException streamFailure = FailWhileBlocked(IoTimeout, gather: false, peer: Reset);
        IOException gatherFailure = FailWhileBlocked(IoTimeout, gather: true, peer: Reset);
        Assert.StartsWith("Unable to write data to the transport connection: ", gatherFailure.Message);
        var inner = Assert.IsType<SocketException>(gatherFailure.InnerException);
        Assert.Contains(inner.SocketErrorCode, new[] { SocketError.ConnectionReset, SocketError.Shutdown });
        Assert.Equal($"Unable to write data to the transport connection: {inner.Message}.", gatherFailure.Message);
        Assert.Equal(streamFailure.Message.Replace("Broken pipe", "Connection reset by peer"), gatherFailure.Message.Replace("Broken pipe", "Connection reset by peer"));
    }

    [Fact] // bounded by the writer thread's join (10 s)
    public void AShutdownFromAnotherThreadEndsABlockedGatherWrite()
    {
        // No send timeout: only the shutdown (a cancellation, a failed channel) can end the wait for room.
        IOException failure = FailWhileBlocked(Timeout.InfiniteTimeSpan, gather: true, peer: null, shutdownSender: true);
        Assert.Equal(SocketError.Shutdown, Assert.IsType<SocketException>(failure.InnerException).SocketErrorCode);
    }

    [Fact(Timeout = 60_000)]
    public async Task APeerResetInTheMiddleOfAGatherMigrationFailsItCleanly()
    {
        // A destination whose channels reset while pages are in flight: the source fails with the channel's error, Failed,
        // every channel thread joined (Run returns), the guest's memory untouched.
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(64L << 20, seed: 5);
        string before = MemoryChecksum.Of(guest.Memory.Blocks[0]);
        (NetworkStream main, NetworkStream mainPeer) = TcpTransport.CreateLoopbackPair(IoTimeout);
        var peers = new List<NetworkStream>();
        var readers = new List<Task>();
        long received = 0;
        using (main)
        using (mainPeer)
        {
            var source = new MultifdSource(
                guest,
                new MigrationParameters { MaxBandwidth = 48L << 20, MultifdChannels = 2, MultifdCompression = CompressMethod.None },
                new SourceMigrationOptions { ReplyTimeout = IoTimeout, RatePeriod = TimeSpan.FromMilliseconds(100) });
            readers.Add(Drain(mainPeer, null));
            Task<MigrationResult> migrating = Task.Factory.StartNew(() => source.Run(main, (_, _) =>
            {
                (NetworkStream channel, NetworkStream peer) = TcpTransport.CreateLoopbackPair(IoTimeout);
                channel.Socket.SendBufferSize = 8192;
                lock (peers)
                {
                    peers.Add(peer);
                    readers.Add(Drain(peer, () => Interlocked.Add(ref received, 1)));
                }

                return channel;
            }), TaskCreationOptions.LongRunning);

            // Let some packets through, then reset every channel.
            while (Interlocked.Read(ref received) < 200 && !migrating.IsCompleted)
            {
                await Task.Delay(5);
            }

            Assert.False(migrating.IsCompleted, "the migration ended before the test could reset it");
            long reset = Stopwatch.GetTimestamp();
            lock (peers)
            {
                foreach (NetworkStream peer in peers)
                {
                    peer.Socket.LingerState = new LingerOption(true, 0);
                    peer.Socket.Close();
                }
            }

            MigrationException failure = await Assert.ThrowsAsync<MigrationException>(() => migrating);
            Assert.True(Stopwatch.GetElapsedTime(reset) < TimeSpan.FromSeconds(5), "the source noticed the reset late");
            Assert.Contains("multifd channel", failure.Message);
            Assert.Contains("the connection failed", failure.Message);
            Assert.Equal(MigrationStatus.Failed, source.Statistics.Status);
            Assert.Equal(before, MemoryChecksum.Of(guest.Memory.Blocks[0]));
            mainPeer.Socket.Shutdown(SocketShutdown.Both);
            await Task.WhenAll(readers).WaitAsync(IoTimeout);
            foreach (NetworkStream peer in peers)
            {
                peer.Dispose();
            }
        }
    }

    /// <summary>One gather write of <paramref name="buffers"/>, in order; returns its short sendmsg calls.</summary>
    private static unsafe int GatherWrite(Socket socket, byte[][] buffers)
    {
        GCHandle[] handles = buffers.Select(b => GCHandle.Alloc(b, GCHandleType.Pinned)).ToArray();
        try
        {
            var iov = new Interop.Libc.IoVec[buffers.Length];
            for (int i = 0; i < buffers.Length; i++)
            {
                iov[i] = new Interop.Libc.IoVec { iov_base = (void*)handles[i].AddrOfPinnedObject(), iov_len = (nuint)buffers[i].Length };
            }

            fixed (Interop.Libc.IoVec* vectors = iov)
            {
                return SocketGather.WriteAll(socket, vectors, iov.Length);
            }
        }
        finally
        {
            foreach (GCHandle handle in handles)
            {
                handle.Free();
            }
        }
    }

    /// <summary>Reads and discards until the connection ends; <paramref name="chunk"/> is called per read.</summary>
    private static Task Drain(NetworkStream stream, Action? chunk) => Task.Factory.StartNew(() =>
    {
        byte[] buffer = new byte[4096];
        try
        {
            while (stream.Read(buffer) > 0)
            {
                chunk?.Invoke();
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            // Reset or closed: the reader's work is done.
        }
    }, TaskCreationOptions.LongRunning);

    /// <summary>
    /// Writes 64 MiB to a peer that never reads, with <paramref name="sendTimeout"/>, by the stream or by a gather write; once
    /// the write waits for room, <paramref name="peer"/> acts on the peer's socket (or the sender is shut down); returns
    /// the write's failure.
    /// </summary>
    private static unsafe IOException FailWhileBlocked(TimeSpan sendTimeout, bool gather, Action<Socket>? peer, bool shutdownSender = false)
    {
        (NetworkStream sender, NetworkStream receiver) = TcpTransport.CreateLoopbackPair(IoTimeout);
        using (sender)
        using (receiver)
        {
            sender.Socket.SendTimeout = sendTimeout == Timeout.InfiniteTimeSpan ? 0 : MigrationConnection.SocketTimeout(sendTimeout);
            byte[] buffer = new byte[4 << 20];
            Exception? failure = null;
            var writer = new Thread(() =>
            {
                try
                {
                    if (!gather)
                    {
                        for (int i = 0; i < 16; i++)
                        {
                            sender.Write(buffer);
                        }

                        return;
                    }

                    fixed (byte* bytes = buffer)
                    {
                        Interop.Libc.IoVec* iov = stackalloc Interop.Libc.IoVec[16];
                        for (int i = 0; i < 16; i++)
                        {
                            iov[i] = new Interop.Libc.IoVec { iov_base = bytes, iov_len = (nuint)buffer.Length };
                        }

                        SocketGather.WriteAll(sender.Socket, iov, 16);
                    }
                }
                catch (Exception e)
                {
                    failure = e;
                }
            });
            writer.Start();

            // The peer never reads: the write fills both buffers and waits.
            Thread.Sleep(150);
            peer?.Invoke(receiver.Socket);
            if (shutdownSender)
            {
                sender.Socket.Shutdown(SocketShutdown.Both);
            }

            Assert.True(writer.Join(TimeSpan.FromSeconds(10)), "the write did not end");
            return Assert.IsType<IOException>(failure);
        }
    }
}
