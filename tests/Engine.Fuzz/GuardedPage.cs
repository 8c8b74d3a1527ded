using Engine.Codecs;
using Engine.Memory;

namespace Engine.Fuzz;

/// <summary>
/// A page with canary bands before and after it. A decoder is handed <see cref="Span"/> (the page, optionally with extra
/// room it must not use); any canary byte that changed afterwards is a write outside the page, which the managed bounds
/// checks cannot catch when the writer is native zlib or zstd.
/// </summary>
internal sealed class GuardedPage
{
    /// <summary>Room past the page offered in an oversized span: the decoder may use only the first 4096 bytes of it.</summary>
    public const int Slack = 64;

    private const int GuardSize = 256;
    private const byte Canary = 0xA5;

    private readonly byte[] _buffer = new byte[GuardSize + PageSizes.PageSize + Slack + GuardSize];

    public GuardedPage() => Reset();

    /// <summary>Exactly the page.</summary>
    public Span<byte> Span => _buffer.AsSpan(GuardSize, PageSizes.PageSize);

    /// <summary>The page and <see cref="Slack"/> bytes after it, for decoders that must still write only 4096.</summary>
    public Span<byte> OversizedSpan => _buffer.AsSpan(GuardSize, PageSizes.PageSize + Slack);

    public ReadOnlySpan<byte> Page => _buffer.AsSpan(GuardSize, PageSizes.PageSize);

    public void Reset() => _buffer.AsSpan().Fill(Canary);

    /// <summary>Throws a <see cref="FuzzContractException"/> when anything outside the page changed.</summary>
    public void AssertGuardsIntact(string who)
    {
        int before = _buffer.AsSpan(0, GuardSize).IndexOfAnyExcept(Canary);
        if (before >= 0)
        {
            throw new FuzzContractException($"{who} wrote {GuardSize - before} bytes before the page");
        }

        int after = _buffer.AsSpan(GuardSize + PageSizes.PageSize).IndexOfAnyExcept(Canary);
        if (after >= 0)
        {
            throw new FuzzContractException($"{who} wrote at byte {PageSizes.PageSize + after} of a {PageSizes.PageSize}-byte page");
        }
    }
}
