using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Pipeline;

/// <summary>
/// A payload read from a stream that does not decode fails the decompression engine with Pipeline's own
/// <see cref="PageException"/>, carrying the stream offset (the worker throws nothing of Wire, a floor above); the receive
/// loop turns it into the stream error, which <c>NoPartialOutputTests</c> checks through extract.
/// </summary>
public sealed class StreamPayloadFailureTests : EngineTestBase
{
    [Fact]
    public void APayloadFromAStreamThatDoesNotDecodeFailsWithItsStreamOffset()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", 8 * PageSizes.PageSize);
            using var engine = new DecompressionEngine(new DecompressionEngineOptions { Method = CompressMethod.Zlib, Strict = true });
            engine.SubmitCompressed(block, 0x2000, [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00, 0x00], streamOffset: 4321);

            PageException e = Assert.Throws<PageException>(() => engine.WaitForDone());

            Assert.Equal(4321, e.StreamOffset);
            Assert.Equal(EngineErrorKind.Page, e.Kind);
            Assert.Equal(DecompressStatus.WrongMethod, e.Status);
            Assert.StartsWith("expected a compressed payload that decompresses to exactly one 4096-byte page (block 'pc.ram', offset 0x2000)", e.Reason, StringComparison.Ordinal);
            Assert.Equal(0, WorkerThreads.LiveCountOf(engine));
        });
    }

    [Fact]
    public void APayloadFromNoStreamHasNoStreamOffset()
    {
        Hang.Guard(30, () =>
        {
            using var block = new RamBlock("pc.ram", 8 * PageSizes.PageSize);
            using var engine = new DecompressionEngine(new DecompressionEngineOptions { Method = CompressMethod.Zlib, Strict = true });
            engine.SubmitCompressed(block, 0x2000, [0x28, 0xB5, 0x2F, 0xFD, 0x00, 0x00, 0x00]);

            PageException e = Assert.Throws<PageException>(() => engine.WaitForDone());

            Assert.Null(e.StreamOffset);
        });
    }
}
