using System.Net.Sockets;
using Engine.Migration;
using Engine.Multifd;

namespace Engine.Migration;

/// <summary>
/// The source of a live migration in QEMU 7.2's multifd format: the main connection carries the stream (header,
/// configuration, RAM sections, ZERO records, EOS) and N channel connections carry the other pages in packets of up to 128,
/// each channel compressing with its own stream kept for the whole migration.
/// </summary>
/// <remarks>
/// <para>
/// Pre-copy is the one <see cref="SourceMigration"/> runs (<see cref="PrecopyDriver"/>: iterations of PART sections until
/// what is dirty fits in downtime-limit, then the guest paused and the rest sent in END); this mode's pages leave through
/// <see cref="MultifdPageSender"/>, with QEMU 7.2's multifd rules: pages of one block are gathered into batches of 128 and
/// handed to the channels round-robin (a block change or a full batch sends it); before every EOS the migration thread
/// sends a SYNC packet on every channel and waits until each is written.
/// </para>
/// <para>
/// Design: the migration thread (the caller) owns the bitmaps, the writer, the statistics and the rate limiter, as in
/// <see cref="SourceMigration"/>. Zero detection runs on the channel threads, on the page in place, and only pages with data are copied; the zero pages a
/// channel finds come back in its batch and the migration thread writes their ZERO records on the main channel before the
/// section's EOS. Within a section each page is sent once (the bitmap is only synced between sections), and the SYNC
/// barrier orders sections, so the destination ends with every page's last copy whichever connection carried it.
/// </para>
/// </remarks>
public sealed class MultifdSource
{
    private readonly PrecopyDriver _driver;
    private readonly byte[] _uuid;
    private readonly byte[][] _blockNames;
    private MultifdPageSender? _sender;

    /// <summary>
    /// Prepares a migration of <paramref name="guest"/> with <paramref name="parameters"/>' <c>multifd-channels</c>,
    /// <c>multifd-compression</c> and its level (and the other parameters as <see cref="SourceMigration"/>); the parameters
    /// are copied, so later changes do not apply. The channels carry <see cref="SourceMigrationOptions.Uuid"/>.
    /// </summary>
    public MultifdSource(MigrationGuest guest, MigrationParameters parameters, SourceMigrationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(guest);
        ArgumentNullException.ThrowIfNull(parameters);
        _driver = new PrecopyDriver(guest, parameters, options);
        _uuid = (options?.Uuid ?? Guid.Empty).ToByteArray(bigEndian: true);

        // Checked here, before anything starts: a name a packet cannot carry is rejected with the block's name.
        _blockNames = _driver.Blocks.Select(b => MultifdFormat.EncodeBlockName(b.Name)).ToArray();
    }

    /// <summary>
    /// Whether a connected destination is an Engine that answers (<see cref="MigrationReply"/>); false for a QEMU
    /// destination, which sends nothing: the source then ends once the stream is written and has no checksums to compare.
    /// </summary>
    public bool ExpectReply { get; init; } = true;

    /// <summary>
    /// The migration now, as QEMU's <c>query-migrate</c> answers it: status, times, RAM counters and rates (status
    /// <c>none</c> before <see cref="Run"/>). Safe to call from any thread at any time; a progress display polls it, where
    /// <see cref="SourceMigrationOptions.Progress"/> reports once per iteration.
    /// </summary>
    public MigrationInfo Query() => _driver.Statistics.Snapshot(_driver.NowMs);

    /// <summary>The live statistics.</summary>
    internal MigrationStatistics Statistics => _driver.Statistics;

    /// <summary>The source's checksums as they were hashed (chunks hashed while sending, at the end, found written after their hash).</summary>
    internal SourceChecksums Checksums => _driver.Checksums;

    /// <summary>Milliseconds on the migration's clock (for a progress display's snapshots of <see cref="Statistics"/>).</summary>
    public long NowMs => _driver.NowMs;

    /// <summary>Packets written on every channel so far (SYNC packets included).</summary>
    public long Packets => _sender?.Packets ?? 0;

    /// <summary>Bytes written on the channel connections (hellos and packets), after <see cref="Run"/>.</summary>
    public long ChannelBytes => _sender?.ChannelBytes ?? 0;

    /// <summary>Packets the channels wrote by gather writes from guest memory, after <see cref="Run"/> (for tests).</summary>
    internal long GatherWrites => _sender?.GatherWrites ?? 0;

    /// <summary>The gather writes' sendmsg calls that took less than was left, after <see cref="Run"/> (for tests).</summary>
    internal long ShortWrites => _sender?.ShortWrites ?? 0;

    /// <summary>
    /// Migrates over <paramref name="main"/>, with <paramref name="connectChannel"/> opening each of the
    /// <c>multifd-channels</c> channel connections (called on this thread, in order, after the main one; a plain
    /// <see cref="NetworkStream"/>, or TLS over one from <see cref="Engine.Transport.TlsTransport"/>). With a
    /// connection to an Engine destination the source waits for its reply, as <see cref="SourceMigration"/> does. Throws
    /// <see cref="MigrationException"/> on failure, after resuming the guest's writers; every channel thread has stopped by
    /// then.
    /// </summary>
    public MigrationResult Run(Stream main, Func<int, CancellationToken, Stream> connectChannel, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(main);
        ArgumentNullException.ThrowIfNull(connectChannel);
        _sender = new MultifdPageSender(_driver, _uuid, _blockNames, connectChannel);
        return _driver.Run(main, _sender, ExpectReply, cancellationToken);
    }
}
