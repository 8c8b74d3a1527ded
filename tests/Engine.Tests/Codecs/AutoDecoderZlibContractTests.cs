using Xunit.Abstractions;

namespace Engine.Tests.Codecs;

public sealed class AutoDecoderZlibContractTests(ITestOutputHelper output) : PageCodecContractTests(output)
{
    protected override CodecAdapter Adapter => CodecAdapters.AutoDecoderZlib;
}
