using System.Globalization;
using Engine.Codecs;

namespace Engine.Pipeline;

/// <summary>A failure that concerns one guest page: it names the RAM block, the page's offset and, when a payload did not decompress, why.</summary>
internal sealed class PageException : EngineException
{
    /// <summary>Creates the exception for the page at <paramref name="offset"/> of <paramref name="blockName"/>.</summary>
    public PageException(string blockName, long offset, string reason, DecompressStatus? status = null, Exception? innerException = null)
        : base(EngineErrorKind.Page, FormatMessage(blockName, offset, reason, status), null, innerException)
    {
        BlockName = blockName;
        Offset = offset;
        Status = status;
        Reason = reason;
    }

    /// <summary>
    /// Creates the exception for a payload read at byte <paramref name="streamOffset"/> of a migration stream that did not
    /// decode: the stream's fault, which the receive loop (a floor above, where the stream is) reports as a stream error
    /// at that offset (<see cref="EngineException.StreamOffset"/>) with <paramref name="reason"/> as its detail.
    /// </summary>
    public PageException(string blockName, long offset, string reason, DecompressStatus status, long streamOffset)
        : this(blockName, offset, reason, status)
    {
        StreamOffset = streamOffset;
    }

    /// <summary>The RAM block's name (QEMU's <c>idstr</c>).</summary>
    public string BlockName { get; }

    /// <summary>The page's byte offset inside its block.</summary>
    public long Offset { get; }

    /// <summary>Why a payload did not decompress, when that is the failure; otherwise null.</summary>
    public DecompressStatus? Status { get; }

    /// <summary>The failure in words, without the page's name.</summary>
    public string Reason { get; }

    private static string FormatMessage(string blockName, long offset, string reason, DecompressStatus? status)
    {
        string where = string.Create(CultureInfo.InvariantCulture, $"page at offset 0x{offset:x} of RAM block '{blockName}'");
        return status is { } s ? $"{where}: {reason} ({s})" : $"{where}: {reason}";
    }
}
