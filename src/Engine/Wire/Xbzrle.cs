using Engine.Codecs;
using Engine.Memory;

namespace Engine.Wire;

/// <summary>
/// QEMU's XBZRLE page delta: pairs of (unchanged run length, changed run length + changed bytes), run lengths as ULEB128
/// of at most two bytes (values up to 0x3FFF). The unchanged bytes stay as the destination has them, so a delta is decoded
/// in place over the page's previous content. A trailing unchanged run is left out by the encoder.
/// </summary>
internal static class Xbzrle
{
    /// <summary>The largest encoded delta QEMU sends (a longer one goes out as a raw page).</summary>
    public const int MaxEncodedLength = PageSizes.PageSize;

    /// <summary>
    /// Checks that <paramref name="encoded"/> is a well-formed delta for one page without touching any page.
    /// On failure <paramref name="errorOffset"/> is the offset inside <paramref name="encoded"/> of the bad byte.
    /// </summary>
    public static bool Validate(ReadOnlySpan<byte> encoded, out int errorOffset, out string? error)
        => Walk(encoded, Span<byte>.Empty, apply: false, out errorOffset, out error);

    /// <summary>
    /// Applies a delta to <paramref name="page"/> (4096 bytes holding the page's previous content). Returns false, with the
    /// page possibly half updated, when the delta is malformed; a delta that passed <see cref="Validate"/> never fails.
    /// </summary>
    public static bool Decode(ReadOnlySpan<byte> encoded, Span<byte> page)
    {
        if (page.Length < PageSizes.PageSize)
        {
            throw new ArgumentException("the page must be 4096 bytes", nameof(page));
        }

        return Walk(encoded, page, apply: true, out _, out _);
    }

    private static bool Walk(ReadOnlySpan<byte> encoded, Span<byte> page, bool apply, out int errorOffset, out string? error)
    {
        int position = 0;
        int pageOffset = 0;
        while (position < encoded.Length)
        {
            int runStart = position;
            if (!TryReadRunLength(encoded, ref position, out int unchanged))
            {
                return Fail(runStart, "unchanged-run length is truncated or longer than two bytes", out errorOffset, out error);
            }

            // Only the first pair may start with an empty unchanged run; later empty runs would mean two changed runs
            // that the encoder should have merged, which QEMU's decoder rejects too.
            if (unchanged == 0 && runStart != 0)
            {
                return Fail(runStart, "empty unchanged run after the first pair", out errorOffset, out error);
            }

            pageOffset += unchanged;
            if (pageOffset > PageSizes.PageSize)
            {
                return Fail(runStart, $"unchanged run of {unchanged} bytes goes past the end of the page", out errorOffset, out error);
            }

            int changedStart = position;
            if (!TryReadRunLength(encoded, ref position, out int changed))
            {
                return Fail(changedStart, "changed-run length is missing, truncated or longer than two bytes", out errorOffset, out error);
            }

            if (changed == 0)
            {
                return Fail(changedStart, "empty changed run", out errorOffset, out error);
            }

            if (pageOffset + changed > PageSizes.PageSize)
            {
                return Fail(changedStart, $"changed run of {changed} bytes at page offset {pageOffset} goes past the end of the page", out errorOffset, out error);
            }

            if (changed > encoded.Length - position)
            {
                return Fail(changedStart, $"changed run of {changed} bytes but only {encoded.Length - position} encoded bytes left", out errorOffset, out error);
            }

            if (apply)
            {
                encoded.Slice(position, changed).CopyTo(page.Slice(pageOffset));
            }

            position += changed;
            pageOffset += changed;
        }

        errorOffset = -1;
        error = null;
        return true;
    }

    private static bool TryReadRunLength(ReadOnlySpan<byte> encoded, ref int position, out int value)
    {
        value = 0;
        if (position >= encoded.Length)
        {
            return false;
        }

        byte first = encoded[position];
        if (first < 0x80)
        {
            value = first;
            position++;
            return true;
        }

        if (position + 1 >= encoded.Length || encoded[position + 1] >= 0x80)
        {
            return false;
        }

        value = (first & 0x7F) | (encoded[position + 1] << 7);
        position += 2;
        return true;
    }

    private static bool Fail(int offset, string message, out int errorOffset, out string? error)
    {
        errorOffset = offset;
        error = message;
        return false;
    }
}
