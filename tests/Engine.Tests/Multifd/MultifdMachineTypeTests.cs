using System.Net;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Transport;
using Engine.Wire;
using Xunit;

namespace Engine.Tests.Multifd;

/// <summary>
/// A multifd source writes the framing its destination's machine type expects: QEMU 8.1+ machine types sync at the
/// MULTIFD_FLUSH record (0x200), older ones at every EOS (reference: qemu-wire-7.2-to-10.0.md §3.4).
/// </summary>
public sealed class MultifdMachineTypeTests
{
    private static readonly TimeSpan IoTimeout = TimeSpan.FromSeconds(10);

    [Theory]
    [InlineData("pc-i440fx-7.2", false)]
    [InlineData("pc-q35-8.0", false)]
    [InlineData("pc-i440fx-8.1", true)]
    [InlineData("pc-q35-8.2", true)]
    [InlineData("pc-i440fx-10.0", true)]
    [InlineData("pc-q35-10.0", true)]
    [InlineData("microvm", true)]
    public void MachineTypesFrom81OnSyncPerRound(string machineType, bool perRound)
        => Assert.Equal(perRound, QemuMachineType.SyncsMultifdPerRound(machineType));

    [Theory(Timeout = 60_000)]
    [InlineData("pc-q35-10.0", true)]
    [InlineData("pc-i440fx-7.2", false)]
    public async Task TheMainStreamCarriesTheFlushRecordBeforeEveryEosExactlyForPerRoundMachineTypes(string machineType, bool perRound)
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic([new("pc.ram", 8L << 20)], seed: 7);
        var multifd = new MigrationParameters { MultifdChannels = 2, MultifdCompression = CompressMethod.Zstd };
        using TcpListener listener = TcpTransport.Listen("127.0.0.1", 0, backlog: 16);
        int port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var destination = new MultifdDestination(new DestinationOptions { Parameters = multifd, ReadTimeout = IoTimeout });
        Task<DestinationResult> incoming = Task.Run(() =>
        {
            using NetworkStream main = TcpTransport.Accept(listener, IoTimeout);
            return destination.Run(main, listener);
        });

        // As into a QEMU destination: no reply; the main connection's bytes are kept to check the framing.
        var sent = new MemoryStream();
        var source = new MultifdSource(guest, MultifdLoopback.Combine(new MigrationParameters { MaxBandwidth = 0 }, multifd), new SourceMigrationOptions { ReplyTimeout = IoTimeout, MachineType = machineType }) { ExpectReply = false };
        await Task.Run(() =>
        {
            using NetworkStream connection = TcpTransport.Connect("127.0.0.1", port, IoTimeout, IoTimeout);
            using var tee = new TeeStream(connection, sent);
            source.Run(tee, (_, token) => TlsTransport.Connect("127.0.0.1", port, null, IoTimeout, IoTimeout, token));
        });

        DestinationResult received = await incoming.WaitAsync(TimeSpan.FromSeconds(30));
        using GuestMemory memory = received.Memory;
        int flushes = 0, eos = 0, flushesBeforeFirstEos = 0;
        using (var reader = new MigrationStreamReader(new MemoryStream(sent.ToArray()), new MigrationStreamReaderOptions { StopAfterRamEnd = true }))
        {
            while (reader.Read())
            {
                if (reader.Kind == MigrationItemKind.MultifdFlush)
                {
                    flushes++;
                    flushesBeforeFirstEos += eos == 0 ? 1 : 0;
                }
                else if (reader.Kind == MigrationItemKind.EndOfSection)
                {
                    eos++;
                }
            }

            Assert.Equal(machineType, reader.MachineType);
        }

        Assert.True(eos >= 2, $"{eos} sections");
        Assert.Equal(perRound ? eos : 0, flushes);
        Assert.Equal(perRound ? 1 : 0, flushesBeforeFirstEos);
        long size = guest.Memory.Blocks[0].Size;
        Assert.True(guest.Memory.Blocks[0].GetSpan(0, (int)size).SequenceEqual(memory.Blocks[0].GetSpan(0, (int)size)), "the received RAM differs");
    }

    /// <summary>Writes through to a connection and keeps a copy of every byte written.</summary>
    private sealed class TeeStream(Stream inner, Stream copy) : Stream
    {
        public override bool CanRead => inner.CanRead;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            inner.Write(buffer);
            lock (copy)
            {
                copy.Write(buffer);
            }
        }
    }
}
