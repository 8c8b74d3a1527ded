using Xunit.Abstractions;

namespace Engine.Tests.Codecs;

public sealed class StrictDecoderZstdContractTests(ITestOutputHelper output) : PageCodecContractTests(output)
{
    protected override CodecAdapter Adapter => CodecAdapters.StrictDecoderZstd;
}
