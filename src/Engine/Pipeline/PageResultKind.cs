namespace Engine.Pipeline;

/// <summary>How a page leaves the compression engine (and, at the destination, how it arrives).</summary>
public enum PageResultKind : byte
{
    /// <summary>Every byte of the page is zero: send a zero-page record (QEMU's <c>RAM_SAVE_FLAG_ZERO</c>), no payload.</summary>
    Zero = 0,

    /// <summary>The payload is the page compressed with the result's method (<c>RAM_SAVE_FLAG_COMPRESS_PAGE</c>).</summary>
    Compressed = 1,

    /// <summary>The payload is the 4096-byte page itself (<c>RAM_SAVE_FLAG_PAGE</c>): it did not shrink, the method is none, or no worker was free.</summary>
    Raw = 2,
}
