using System.Net;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Migration;

/// <summary>
/// A QEMU destination of machine type 9.1 or later has no compress capability: QEMU 10.0 fails at the first compressed
/// page ("Unknown combination of migration flags: 0x100") after the source has sent its set-up. The source refuses such a
/// migration before it writes a byte, naming the parameter; an Engine destination (which answers) and older machine types
/// keep working, and so does a file.
/// </summary>
public sealed class QemuDestinationCompressTests
{
    private const long GuestSize = 4L << 20;

    [Theory]
    [InlineData("pc-q35-10.0", CompressMethod.Zlib)]
    [InlineData("pc-i440fx-9.1", CompressMethod.Zstd)]
    [InlineData("microvm", CompressMethod.Zlib)]
    public async Task ACompressedStreamForAQemuThatHasNoCompressIsRefusedBeforeAnythingIsSent(string machineType, CompressMethod method)
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(GuestSize);
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        using var client = new TcpClient();
        client.Connect((IPEndPoint)listener.LocalEndpoint);
        using TcpClient peer = listener.AcceptTcpClient();
        Task<int> received = Task.Run(() =>
        {
            // What the destination gets until the source closes: nothing.
            var sink = new MemoryStream();
            peer.GetStream().CopyTo(sink);
            return (int)sink.Length;
        });
        var source = new SourceMigration(guest, Parameters(method), new SourceMigrationOptions { MachineType = machineType }) { ExpectReply = false };

        EngineParameterException e = Assert.Throws<EngineParameterException>(() => source.Run(client.GetStream()));
        client.Close();

        Assert.Equal("compress-method", e.Parameter);
        Assert.Contains(machineType, e.Message, StringComparison.Ordinal);
        Assert.Contains(CompressionSettings.NameOf(method), e.Message, StringComparison.Ordinal);
        Assert.Equal(0, await received.WaitAsync(TimeSpan.FromSeconds(30)));
    }

    [Theory]
    [InlineData("pc-i440fx-9.0", CompressMethod.Zlib, false)] // QEMU 9.0 still has compress
    [InlineData("pc-q35-7.2", CompressMethod.Zstd, false)]
    [InlineData("pc-q35-10.0", CompressMethod.None, false)] // what QEMU 10 takes
    [InlineData("pc-q35-10.0", CompressMethod.Zlib, true)] // an Engine destination decodes it
    [InlineData("pc-q35-10.0", CompressMethod.Zlib, false)] // a file (here a MemoryStream) is not a QEMU destination
    public void OtherwiseTheStreamIsWritten(string machineType, CompressMethod method, bool expectReply)
    {
        using MigrationGuest guest = MigrationGuest.CreateSynthetic(GuestSize);
        var output = new MemoryStream();
        var source = new SourceMigration(guest, Parameters(method), new SourceMigrationOptions { MachineType = machineType }) { ExpectReply = expectReply };

        MigrationResult result = source.Run(output);

        Assert.Equal(MigrationStatus.Completed, result.Info.Status);
        Assert.True(output.Length > 0);
    }

    private static MigrationParameters Parameters(CompressMethod method)
        => new() { MaxBandwidth = 0, Compression = CompressionSettings.Create(method, 1) };
}
