using Xunit.Abstractions;

namespace Engine.Tests.Codecs;

public sealed class ZstdContractTests(ITestOutputHelper output) : PageCodecContractTests(output)
{
    protected override CodecAdapter Adapter => CodecAdapters.Zstd;
}
