using Xunit.Abstractions;

namespace Engine.Tests.Codecs;

public sealed class SharpZipLibContractTests(ITestOutputHelper output) : PageCodecContractTests(output)
{
    protected override CodecAdapter Adapter => CodecAdapters.SharpZipLibZlib;
}
