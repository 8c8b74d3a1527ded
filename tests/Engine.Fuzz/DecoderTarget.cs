using Engine.Codecs;

namespace Engine.Fuzz;

/// <summary>
/// The <c>decoder</c> target: the input is one selector byte, then a compressed page payload of any length. The payload
/// goes to a <see cref="PageDecoder"/> (auto-detect, or strict for a configured method) writing into a guard-banded page.
/// Any exception, a write outside the page, or an undefined status is a finding.
/// </summary>
/// <remarks>
/// Selector bits, so AFL can reach every decoder configuration by flipping one byte:
/// bit 0 strict; bits 1-2 configured method (0 none, 1 zlib, 2 zstd, 3 zlib); bit 3 hand the decoder a span longer
/// than a page (it must still write only 4096 bytes); bit 4 SharpZipLib instead of native zlib. Other bits are ignored.
/// </remarks>
internal sealed class DecoderTarget : IFuzzTarget
{
    private const int StrictBit = 0x01;
    private const int MethodShift = 1;
    private const int OversizedBit = 0x08;
    private const int SharpZipLibBit = 0x10;

    // One decoder per configuration, reused, as each decompress worker reuses its own. All are made up front: a decoder
    // created by the first input that needs it would make that input's coverage differ from its reruns (AFL's stability).
    private readonly PageDecoder[] _decoders = new PageDecoder[32];
    private readonly GuardedPage _page = new();

    public DecoderTarget()
    {
        for (int selector = 0; selector < _decoders.Length; selector++)
        {
            _decoders[selector] = CreateDecoder(selector);
        }
    }

    public string Name => "decoder";

    public static byte Selector(CompressMethod configured, bool strict, bool oversized = false, bool sharpZipLib = false)
        => (byte)((strict ? StrictBit : 0) | ((int)configured << MethodShift) | (oversized ? OversizedBit : 0) | (sharpZipLib ? SharpZipLibBit : 0));

    public FuzzOutcome Run(ReadOnlyMemory<byte> input)
    {
        if (input.IsEmpty)
        {
            return FuzzOutcome.Rejected;
        }

        int selector = input.Span[0] & (StrictBit | (3 << MethodShift) | OversizedBit | SharpZipLibBit);
        ReadOnlySpan<byte> payload = input.Span[1..];
        PageDecoder decoder = _decoders[selector];
        bool oversized = (selector & OversizedBit) != 0;

        _page.Reset();
        DecompressStatus status = decoder.Decompress(payload, oversized ? _page.OversizedSpan : _page.Span);
        _page.AssertGuardsIntact($"PageDecoder({decoder.Method}, strict: {decoder.Strict}, selector 0x{selector:X2})");
        if (!Enum.IsDefined(status))
        {
            throw new FuzzContractException($"PageDecoder returned the undefined status {(int)status}");
        }

        return status == DecompressStatus.Ok ? FuzzOutcome.Accepted : FuzzOutcome.Rejected;
    }

    private static PageDecoder CreateDecoder(int selector)
    {
        CompressMethod configured = ((selector >> MethodShift) & 3) switch
        {
            0 => CompressMethod.None,
            2 => CompressMethod.Zstd,
            _ => CompressMethod.Zlib,
        };
        ZlibImplementation zlib = (selector & SharpZipLibBit) != 0 ? ZlibImplementation.SharpZipLib : ZlibImplementation.Native;
        return new PageDecoder(configured, (selector & StrictBit) != 0, zlib);
    }
}
