using Engine.Codecs;
using System.Net.Sockets;
using Engine.Pipeline;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// The source side of a live migration: pre-copy as QEMU 7.2 does it (migration/ram.c, migration.c), through the
/// <see cref="CompressionEngine"/> and the <see cref="MigrationStreamWriter"/>.
/// </summary>
/// <remarks>
/// <para>
/// Setup: the stream header, the RAM block list (START section), every page marked dirty. Then iterations, each a PART
/// section: send dirty pages until the rate limit's window is used up, 50 ms have passed, or the bitmap is empty; wait for
/// the window. Before each iteration, if what remains is below the threshold (bytes that fit in <c>downtime-limit</c> at the
/// last window's bandwidth), sync the dirty log first; if it is still below, complete: pause the writers ("stop the
/// guest"), sync once more, lift the rate limit, send the rest in the END section, EOF, and wait for the destination to say
/// it holds every page (downtime ends there). Then compare checksums of each block, source at the pause against
/// destination.
/// </para>
/// <para>
/// Design: pre-copy itself is <see cref="PrecopyDriver"/>, shared with <see cref="MultifdSource"/>; this mode's
/// pages leave through <see cref="StreamPageSender"/>. All of it runs on the calling thread (QEMU's migration thread). The
/// compression engine's workers copy each page before compressing it; results come back in submission order and are
/// written in that order, so the destination, which applies copies of one page in stream order, always ends with the
/// newest copy. The source guest's memory is only ever read: a failed or cancelled migration leaves it untouched, and its
/// writers are resumed.
/// </para>
/// </remarks>
public sealed class SourceMigration
{
    /// <summary>QEMU's <c>MAX_WAIT</c>: an iteration sends for at most 50 ms before it ends its section.</summary>
    public const int MaxIterationMs = PrecopyDriver.MaxIterationMs;

    private readonly PrecopyDriver _driver;

    /// <summary>Prepares a migration of <paramref name="guest"/>; the parameters are copied, so later changes do not apply.</summary>
    public SourceMigration(MigrationGuest guest, MigrationParameters parameters, SourceMigrationOptions? options = null)
    {
        _driver = new PrecopyDriver(guest, parameters, options);
    }

    /// <summary>
    /// The migration now, as QEMU's <c>query-migrate</c> answers it: status, times, RAM counters and rates (status
    /// <c>none</c> before <see cref="Run"/>). Safe to call from any thread at any time; a progress display polls it, where
    /// <see cref="SourceMigrationOptions.Progress"/> reports once per iteration.
    /// </summary>
    public MigrationInfo Query() => _driver.Statistics.Snapshot(_driver.NowMs);

    /// <summary>The live statistics (a progress display may snapshot them from another thread).</summary>
    internal MigrationStatistics Statistics => _driver.Statistics;

    /// <summary>The source's checksums as they were hashed (chunks hashed while sending, at the end, found written after their hash).</summary>
    internal SourceChecksums Checksums => _driver.Checksums;

    /// <summary>Milliseconds on the migration's clock.</summary>
    public long NowMs => _driver.NowMs;

    /// <summary>
    /// Whether a connected destination is an Engine that answers (<see cref="MigrationReply"/>); false for a QEMU
    /// destination, which sends nothing: the source then ends once the stream is written (its sending side shut down)
    /// and has no checksums to compare. As <see cref="MultifdSource.ExpectReply"/>.
    /// </summary>
    public bool ExpectReply { get; init; } = true;

    /// <summary>
    /// Migrates into <paramref name="output"/>. A <see cref="NetworkStream"/> (or TLS over one) is a connection: the
    /// source shuts down its sending side after EOF and, with <see cref="ExpectReply"/>, waits for the destination's reply
    /// (<see cref="MigrationReply"/>). Any other stream (a file) just receives the stream. Throws
    /// <see cref="MigrationException"/> on failure, after resuming the guest's writers.
    /// </summary>
    public MigrationResult Run(Stream output, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        CompressMethod method = _driver.Parameters.Compression.Method;
        if (!ExpectReply && method != CompressMethod.None && QemuMachineType.HasNoCompress(_driver.MachineType)
            && Transport.MigrationConnection.Of(output) is not null)
        {
            // A connection to a QEMU (no reply) that would fail at the first compressed page: refused before anything is
            // sent. A file is not refused (Engine's own `incoming --from file:` reads it).
            throw new EngineParameterException("compress-method",
                $"compress-method {CompressionSettings.NameOf(method)} cannot go to a QEMU destination of machine type " +
                $"{_driver.MachineType}: QEMU 9.1 and later have no compress capability and refuse compressed pages; " +
                "use compress-method none (or multifd with multifd-compression zstd or zlib)");
        }

        return _driver.Run(output, new StreamPageSender(_driver), ExpectReply, cancellationToken);
    }
}
