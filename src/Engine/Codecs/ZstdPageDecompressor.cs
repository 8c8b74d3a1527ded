using ZstdNet;
using Engine.Memory;

namespace Engine.Codecs;

/// <summary>
/// Decompresses one zstd frame into exactly one page through ZstdNet's <see cref="Decompressor"/>. One decompression context
/// per instance, reused for every page. The frame is inspected first (it must fill the payload exactly and may not declare a
/// content size other than 4096), then decoded into exactly 4096 bytes of the page, so it can never write past the page.
/// </summary>
internal sealed unsafe class ZstdPageDecompressor : IPageDecompressor
{
    private readonly Decompressor _decompressor;
    private bool _disposed;

    /// <summary>Creates the decompressor and its context.</summary>
    public ZstdPageDecompressor()
    {
        NativeLibraries.EnsureZstd();
        _decompressor = new Decompressor();
    }

    /// <inheritdoc />
    public CompressMethod Method => CompressMethod.Zstd;

    /// <inheritdoc />
    public DecompressStatus Decompress(ReadOnlySpan<byte> payload, Span<byte> page)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        DecompressStatus status = PayloadFormat.CheckBeforeDecode(CompressMethod.Zstd, payload, page.Length);
        if (status != DecompressStatus.Ok)
        {
            return status;
        }

        nuint frameSize;
        ulong contentSize;
        fixed (byte* source = payload)
        {
            frameSize = Interop.ZSTD_findFrameCompressedSize(source, (nuint)payload.Length);
            contentSize = Interop.ZSTD_getFrameContentSize(source, (nuint)payload.Length);
        }

        // A truncated or malformed frame makes findFrameCompressedSize return an error code, a huge number that cannot equal
        // the payload's length; a longer payload holds data after the frame (a second frame, a skippable frame, garbage).
        // Either way the payload is not one page frame. Checking here also keeps exceptions off the common corrupt cases.
        if (frameSize != (nuint)payload.Length || contentSize == Interop.ZSTD_CONTENTSIZE_ERROR)
        {
            return DecompressStatus.Corrupt;
        }

        if (contentSize != Interop.ZSTD_CONTENTSIZE_UNKNOWN && contentSize != PageSizes.PageSize)
        {
            return DecompressStatus.WrongSize;
        }

        int length;
        try
        {
            // Exactly one page of room: a frame without a content size that decodes to more fails with dstSize_tooSmall.
            // bufferSizePrecheck is off because it throws for frames that do not state their content size.
            length = _decompressor.Unwrap(payload, page[..PageSizes.PageSize], bufferSizePrecheck: false);
        }
        catch (ZstdException e)
        {
            // Error path only: a valid page frame never gets here.
            return e.Code == ZSTD_ErrorCode.ZSTD_error_dstSize_tooSmall ? DecompressStatus.WrongSize : DecompressStatus.Corrupt;
        }

        return length == PageSizes.PageSize ? DecompressStatus.Ok : DecompressStatus.WrongSize;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        _decompressor.Dispose();
    }
}
