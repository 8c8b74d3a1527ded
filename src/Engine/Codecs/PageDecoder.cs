using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// The destination's page decoder: it tells zlib from zstd by each payload's first bytes and hands the payload to the matching
/// decompressor, so a method mismatch between the two ends is reported instead of corrupting memory. In strict mode it
/// rejects any payload whose method is not the configured one (<see cref="DecompressStatus.WrongMethod"/>).
/// One instance per decompress worker; it owns its decompressors.
/// </summary>
internal sealed class PageDecoder : IPageDecompressor
{
    private readonly IPageDecompressor? _zlib;
    private readonly IPageDecompressor? _zstd;

    /// <summary>
    /// Creates a decoder for a stream configured with <paramref name="configured"/>. In strict mode only that method's
    /// decompressor is created (and with <see cref="CompressMethod.None"/> no compressed payload is accepted at all).
    /// </summary>
    public PageDecoder(CompressMethod configured, bool strict, ZlibImplementation zlib = ZlibImplementation.Native)
    {
        PageCodecs.ThrowIfUnknown(configured);
        Method = configured;
        Strict = strict;
        try
        {
            if (!strict || configured == CompressMethod.Zlib)
            {
                _zlib = PageCodecs.CreateDecompressor(CompressMethod.Zlib, zlib);
            }

            if (!strict || configured == CompressMethod.Zstd)
            {
                _zstd = PageCodecs.CreateDecompressor(CompressMethod.Zstd, zlib);
            }
        }
        catch
        {
            _zlib?.Dispose();
            throw;
        }
    }

    /// <summary>The configured method (QEMU's <c>compress-method</c> on this side).</summary>
    public CompressMethod Method { get; }

    /// <summary>True when payloads of any other method than <see cref="Method"/> are rejected.</summary>
    public bool Strict { get; }

    /// <inheritdoc />
    public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
    {
        if (page.Length < PageSizes.PageSize)
        {
            return DecompressStatus.DestinationTooSmall;
        }

        if (payload.IsEmpty)
        {
            return DecompressStatus.Empty;
        }

        if (!PayloadFormat.TryDetect(payload, out CompressMethod detected))
        {
            return DecompressStatus.UnknownFormat;
        }

        if (Strict && detected != Method)
        {
            return DecompressStatus.WrongMethod;
        }

        if (payload.Length > PayloadFormat.BoundOf(detected))
        {
            return DecompressStatus.TooLong;
        }

        // Both exist unless strict, and strict has returned above for the other method.
        IPageDecompressor decompressor = detected == CompressMethod.Zlib ? _zlib! : _zstd!;
        return decompressor.Decompress(payload, page);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _zlib?.Dispose();
        _zstd?.Dispose();
    }
}
