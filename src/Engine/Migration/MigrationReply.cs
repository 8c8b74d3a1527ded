using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Engine.Migration;

/// <summary>
/// Engine's return path, an extension to QEMU's stream: once the source has sent the whole stream (through EOF) and shut
/// down its sending side, the destination answers on the same connection with two lines of UTF-8 text.
/// </summary>
/// <remarks>
/// <list type="number">
/// <item><description><c>ENGINE-RECEIVED</c>: every page is in destination memory. The source ends the downtime here.</description></item>
/// <item><description>
/// One JSON object: <c>{"status":"ok","blocks":[{"name":"pc.ram","xxh128":"…"}]}</c> with the XXH128 of each block, or
/// <c>{"status":"error","error":"…"}</c>. An error may also come in place of the first line.
/// </description></item>
/// </list>
/// Lines are at most <see cref="MaxLineLength"/> bytes; QEMU never sends this, and an Engine destination only sends it after
/// reading a complete stream, so a QEMU source (which does not wait for it) is not affected.
/// </remarks>
internal static class MigrationReply
{
    /// <summary>The first line: the destination holds every page.</summary>
    public const string ReceivedLine = "ENGINE-RECEIVED";

    /// <summary>The longest line accepted.</summary>
    public const int MaxLineLength = 64 * 1024;

    /// <summary>
    /// Writes a reply line with <paramref name="write"/>, best effort: the destination has already verified the complete
    /// stream, so a source that is gone (a relay that carried the stream and closed, a source that expects no reply) cannot
    /// make it discard what it holds. False when the connection was gone.
    /// </summary>
    public static bool TryWrite(Stream output, Action<Stream> write)
    {
        try
        {
            write(output);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            return false;
        }
    }

    /// <summary>Writes the first line.</summary>
    public static void WriteReceived(Stream output)
    {
        output.Write(Encoding.ASCII.GetBytes(ReceivedLine + "\n"));
        output.Flush();
    }

    /// <summary>Writes the checksums line.</summary>
    public static void WriteChecksums(Stream output, IReadOnlyList<BlockChecksum> checksums)
    {
        var blocks = new JsonArray();
        foreach (BlockChecksum c in checksums)
        {
            blocks.Add((JsonNode)new JsonObject { ["name"] = c.Name, [MemoryChecksum.Algorithm] = c.Checksum });
        }

        WriteLine(output, new JsonObject { ["status"] = "ok", ["blocks"] = blocks }.ToJsonString());
    }

    /// <summary>Writes an error line (best effort: the connection may be gone).</summary>
    public static void TryWriteError(Stream output, string error)
    {
        try
        {
            WriteLine(output, new JsonObject { ["status"] = "error", ["error"] = error }.ToJsonString());
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or NotSupportedException or InvalidOperationException)
        {
            // The source will report the broken connection itself.
        }
    }

    /// <summary>Reads one line; throws <see cref="MigrationException"/> if the peer closed first or sent too much.</summary>
    public static string ReadLine(Stream input, string waitingFor)
    {
        var bytes = new List<byte>(128);
        Span<byte> one = stackalloc byte[1];
        while (true)
        {
            int n;
            try
            {
                n = input.Read(one);
            }
            catch (IOException e)
            {
                throw new MigrationException($"no reply from the destination while waiting for {waitingFor}: {e.InnerException?.Message ?? e.Message}", e);
            }

            if (n == 0)
            {
                throw new MigrationException($"the destination closed the connection while the source waited for {waitingFor}");
            }

            if (one[0] == (byte)'\n')
            {
                return Encoding.UTF8.GetString(bytes.ToArray());
            }

            if (bytes.Count >= MaxLineLength)
            {
                throw new MigrationException($"the destination's reply is longer than {MaxLineLength} bytes");
            }

            bytes.Add(one[0]);
        }
    }

    /// <summary>Parses a JSON reply line into checksums, or throws <see cref="MigrationException"/> with the destination's error.</summary>
    public static IReadOnlyList<BlockChecksum> ParseChecksums(string line)
    {
        JsonObject reply;
        try
        {
            reply = JsonNode.Parse(line)?.AsObject() ?? throw new MigrationException("the destination's reply is empty");
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            throw new MigrationException($"the destination's reply is not an Engine reply: {Shorten(line)}", e);
        }

        if ((string?)reply["status"] != "ok")
        {
            throw new MigrationException($"the destination failed: {(string?)reply["error"] ?? Shorten(line)}");
        }

        var list = new List<BlockChecksum>();
        foreach (JsonNode? node in reply["blocks"]?.AsArray() ?? [])
        {
            list.Add(new BlockChecksum((string?)node?["name"] ?? "", (string?)node?[MemoryChecksum.Algorithm] ?? ""));
        }

        return list;
    }

    /// <summary>Throws the destination's error if <paramref name="line"/> is an error line instead of <see cref="ReceivedLine"/>.</summary>
    public static void ExpectReceived(string line)
    {
        if (line != ReceivedLine)
        {
            ParseChecksums(line); // throws with the destination's error, or as "not an Engine reply"
            throw new MigrationException($"the destination sent checksums before confirming it received every page");
        }
    }

    private static void WriteLine(Stream output, string text)
    {
        output.Write(Encoding.UTF8.GetBytes(text + "\n"));
        output.Flush();
    }

    private static string Shorten(string text) => text.Length <= 200 ? text : text[..200] + "…";
}
