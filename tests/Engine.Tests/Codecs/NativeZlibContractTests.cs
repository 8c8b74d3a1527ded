using Xunit.Abstractions;

namespace Engine.Tests.Codecs;

public sealed class NativeZlibContractTests(ITestOutputHelper output) : PageCodecContractTests(output)
{
    protected override CodecAdapter Adapter => CodecAdapters.NativeZlib;
}
