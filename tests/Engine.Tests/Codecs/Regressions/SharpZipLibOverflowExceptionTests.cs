using Engine.Codecs;
using Xunit;

namespace Engine.Tests.Codecs.Regressions;

/// <summary>
/// Bug found by AFL (tests/Engine.Fuzz, decoder target, 5 minutes): a zlib payload whose dynamic Huffman header declares
/// an over-subscribed set of code lengths makes SharpZipLib's <c>InflaterHuffmanTree.BuildTree</c> overflow its checked
/// arithmetic, and the <see cref="OverflowException"/> escaped <see cref="SharpZipLibPageDecompressor"/>, which promises
/// never to throw for any payload content. An untrusted peer could end a destination's decompress worker with 56 bytes.
/// Fix: the decompressor reports it as <see cref="DecompressStatus.Corrupt"/>. Each input is an AFL crash file from
/// tests/fuzz-regressions/decoder (selector byte first, then the payload), named by its SHA-1 prefix.
/// </summary>
public class SharpZipLibOverflowExceptionTests
{
    public static TheoryData<string, string> Crashes => new()
    {
        { "crash-1dc9f875a05b", "1478DA02C219FF00140277FBEDE4490E97400844D17893BA9A03CE36DADA4EA7377A0BBCCA778BDA5AD398DF972A6FBE825EBE40C0049800" },
        { "crash-58e3dd97922e", "1478DA22C1FFFF00140277FBEDE4490E80400844D17893BA9A03CE36DADA4EA7377A0BBCCA778BDA5AD398DF972A6FBE825EBE40AD049800" },
        { "crash-78f4d6b654dc", "1478DA02C1FFFF00140277FBEDE4490E80400844D17893FFFF00140277FBEDE4490EBA9A03CE36DADA4EA7377A0BBCCA778BDA5AD39EDF972A6FBE825EBE40C0049800" },
        { "crash-927b64b2e462", "F678DADA031478DA02C1FF6400140277FBEDE4490B804008775A7777A7377A0B03CE36C6DA777777777777770010DA5AD398DF972E6F6D7FFFBE" },
        { "crash-99d7baaf4fc6", "1478DA02C1FFFF00140277FBEDE4490E777777777777000000FF8040087777777777FFFF8000777777777777777777777777777765BA9A03DA36DACE4EA7377A377A0BBCCA778BDA5AD398DF972E6FBE7DFFBE40C07797FF" },
        { "crash-9a3f9e37baae", "1478DA02C1FFFF00140277FBEDE4490F8040087A0B7893BA9A03CE36DADA4EA73744D1BCCA778BDA5AD398DF972A6FBE825EBE40C0049800" },
        { "crash-a19c15af29a8", "1478DA9CCD00400014340CFD14141414141414FF7F800014140114141414141414FFFF800014141410141414141414361414141414141414147800F7" },
        { "crash-ae09a3ad7b36", "1478DA02C1FFFF00140277FBEDE4490E80400844D17893BA9A03CE36DADA4EA7371478D9F3C1FFFF0000010001EDD6490E80400844D17893BA9A03CE36DADA4EA7377A0B93BF246145807A9969495D39A8887DF7D57EAA4FD3BCCA778BDA5AD3" },
        { "crash-b8d10bc7f3bc", "1478DA02C1FFFF00140277FBEDE4490E80400844D13893FA9A03CE36DADA4EA7377A0BBCCA778BDA5AD398DF972A6FBE825EBE40FF009800" },
    };

    [Theory]
    [MemberData(nameof(Crashes))]
    public void Overflowing_huffman_header_is_corrupt_not_an_exception(string name, string hex)
    {
        byte[] payload = Convert.FromHexString(hex)[1..];
        using var decompressor = new SharpZipLibPageDecompressor();
        var page = new GuardedPage();

        DecompressStatus status = decompressor.Decompress(payload, page.Span);

        Assert.True(status == DecompressStatus.Corrupt, $"{name}: {status}");
        page.AssertCanariesIntact();
    }

    [Theory]
    [MemberData(nameof(Crashes))]
    public void The_auto_decoder_on_SharpZipLib_reports_it_too(string name, string hex)
    {
        byte[] payload = Convert.FromHexString(hex)[1..];
        using PageDecoder decoder = new PageDecoder(CompressMethod.Zlib, strict: false, ZlibImplementation.SharpZipLib);
        var page = new GuardedPage();

        Assert.True(decoder.Decompress(payload, page.Span) == DecompressStatus.Corrupt, name);
        page.AssertCanariesIntact();
    }

    [Theory]
    [MemberData(nameof(Crashes))]
    public void Native_zlib_rejects_the_same_payloads(string name, string hex)
    {
        // The two zlib implementations must agree that these are not a page.
        byte[] payload = Convert.FromHexString(hex)[1..];
        using var decompressor = new ZlibPageDecompressor();
        var page = new GuardedPage();

        Assert.True(decompressor.Decompress(payload, page.Span) != DecompressStatus.Ok, name);
        page.AssertCanariesIntact();
    }
}
