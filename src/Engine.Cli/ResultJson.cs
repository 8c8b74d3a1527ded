using System.Text.Json.Nodes;
using Engine.Codecs;
using Engine.Migration;
using Engine.Relay;

namespace Engine.Cli;

/// <summary>
/// The final JSON object of <c>engine incoming</c> and <c>engine relay</c>, in <c>query-migrate</c>'s names (as
/// <c>engine migrate</c> and every <c>--progress json</c> line): <c>status</c>, <c>total-time</c>, <c>ram</c>
/// (<c>transferred</c>, <c>duplicate</c>, <c>normal</c>, <c>normal-bytes</c>, <c>page-size</c>), <c>compression.pages</c>,
/// <c>xbzrle-cache.pages</c>; what query-migrate has no name for goes in the documented extension object <c>engine</c>.
/// </summary>
internal static class ResultJson
{
    /// <summary>
    /// A block checksum's field name in the results and the sidecar file: the algorithm, as the library's checksum reply
    /// spells it (<see cref="BlockChecksum"/>: XXH128). The library's own constant is internal and the command is no
    /// friend, so the name is written here too; ChecksumNameTests keeps the two the same.
    /// </summary>
    public const string ChecksumName = "xxh128";

    /// <summary>What <c>engine incoming</c> received.</summary>
    public static JsonObject Incoming(DestinationResult result, bool? checksumsVerified, string? savedStream, long? savedStreamBytes)
    {
        JsonObject json = Common(result.Elapsed, result.StreamBytes, result.ZeroPages, result.RawPages, result.CompressedPages, result.XbzrlePages);
        var blocks = new JsonArray();
        foreach (BlockChecksum c in result.Checksums)
        {
            blocks.Add((JsonNode)new JsonObject { ["name"] = c.Name, [ChecksumName] = c.Checksum });
        }

        json["engine"] = new JsonObject
        {
            ["source"] = result.FromQemu ? "qemu" : "engine",
            ["blocks"] = blocks,
            ["checksums-verified"] = checksumsVerified,
            ["device-state-bytes"] = result.Tail.Length,
            ["saved-stream"] = savedStream,
            ["saved-stream-bytes"] = savedStreamBytes,
        };
        return json;
    }

    /// <summary>What <c>engine relay</c> carried: <c>ram.transferred</c> is what it wrote to the destination.</summary>
    public static JsonObject Relay(RelayResult result, CompressionSettings settings)
    {
        JsonObject json = Common(result.Elapsed, result.BytesOut, result.ZeroPages, result.RawPages, result.CompressedPages, result.XbzrlePages);
        json["engine"] = new JsonObject
        {
            ["bytes-in"] = result.BytesIn,
            ["bytes-after-ram"] = result.BytesAfterRam,
            ["compress-method"] = CompressionSettings.NameOf(settings.Method),
            ["compress-level"] = settings.Level,
        };
        if (result.MultifdPerRound is bool perRound)
        {
            // --to-multifd-*: the channels compressed, not --compress-method; the framing written.
            json["engine"]!["compress-method"] = "multifd";
            json["engine"]!["multifd-sync"] = perRound ? "per-round" : "per-section";
        }

        return json;
    }

    /// <summary>
    /// The members a receiving side reports, final or in progress: <c>status</c>, <c>total-time</c>, <c>ram</c> and
    /// <c>compression.pages</c>, in query-migrate's names.
    /// </summary>
    public static JsonObject Received(string status, TimeSpan elapsed, long bytes, long zero, long raw, long compressed) => new()
    {
        ["status"] = status,
        ["total-time"] = (long)elapsed.TotalMilliseconds,
        ["ram"] = new JsonObject
        {
            ["transferred"] = bytes,
            ["duplicate"] = zero,
            ["normal"] = raw,
            ["normal-bytes"] = raw * PageCodecs.PageSize,
            ["page-size"] = PageCodecs.PageSize,
        },
        ["compression"] = new JsonObject { ["pages"] = compressed },
    };

    private static JsonObject Common(TimeSpan elapsed, long bytes, long zero, long raw, long compressed, long xbzrle)
    {
        JsonObject json = Received("completed", elapsed, bytes, zero, raw, compressed);
        json["xbzrle-cache"] = new JsonObject { ["pages"] = xbzrle };
        return json;
    }
}
