using System.Diagnostics;
using System.Net.Sockets;
using System.Text;
using Engine.Codecs;
using Engine.Migration;
using Engine.Multifd;
using Engine.Tools;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Relay;

/// <summary>
/// <c>engine relay</c>: carries a live migration from a source (QEMU, another relay, or a saved stream) to a destination
/// (QEMU or another relay), re-encoding only the RAM records with <see cref="RelayOptions.Settings"/>; the file header,
/// configuration, block list, XBZRLE records and everything after RAM's END go on byte for byte.
/// </summary>
/// <remarks>
/// <para>
/// A streaming <see cref="Transcoder"/> between two connections: pages are decoded on the relay's thread and encoded by
/// the <see cref="Pipeline.CompressionEngine"/> on <see cref="RelayOptions.Threads"/> workers, every section is flushed as soon as its footer is written, and the outgoing
/// link is held to <c>max-bandwidth</c> (<see cref="RelayOptions.Parameters"/>) (<see cref="RateLimitedStream"/>). The source is read only as
/// fast as the destination link takes the bytes, so a QEMU source's bandwidth estimate and downtime reflect the real link.
/// </para>
/// <para>
/// Faults: a destination never speaks in precopy, so a watch thread asks the destination's connection every 20 ms; a close,
/// reset or any bytes from it end the relay at once, naming the destination. A source that dies shows up as the end of the
/// input before the stream is complete (also in the device state after RAM's END). Either way both connections are shut
/// down, so the peer on the other side learns within moments too, and a <see cref="MigrationException"/> names the peer.
/// Stream features a one-way carrier cannot pass on (postcopy, the return path, block migration, unknown RAM flags) fail
/// before RAM's END, so the destination never receives device state it would start a guest from.
/// </para>
/// <para>
/// A multifd source (QEMU 7.2's format): its channels are accepted beside the main connection on
/// <see cref="MultifdDestination"/>'s path and their pages decoded (<see cref="MultifdChannelSet"/>), a second page source of
/// the transcoder's receive loop: at every barrier (each EOS, or each MULTIFD_FLUSH record of a QEMU 8.1+ source that syncs
/// per round), once every channel's SYNC is in, the pages since the last barrier are re-encoded and written before the
/// barrier's record, and in per-round mode the last ones before RAM's last EOS once every channel has ended, so the
/// destination gets one single-stream migration. TLS (issue 12: <c>engine relay --tls-creds</c> for the outgoing side,
/// <c>--listen-tls-creds</c> for the accepted ones, the channels through <see cref="MultifdDestination.Tls"/>) wraps the
/// connections before they are handed here; the watch is the connection's own (<see cref="MigrationConnection"/>), which over
/// TLS keeps a read of the destination's TLS stream pending instead of polling its socket.
/// </para>
/// <para>
/// Multifd on to the destination (<see cref="RelayOptions.OutputMultifd"/>, <c>--to-multifd-channels</c>): the receive loop's
/// target is a <see cref="MultifdOutputTarget"/> instead of the re-encoder, whatever the source is; it opens the channels
/// with <see cref="RelayOptions.ConnectOutputChannel"/> and writes the barrier framing of the destination's machine type
/// (<see cref="RelayOptions.MachineType"/>, else the source's). Every channel thread is joined before a run returns or throws.
/// </para>
/// </remarks>
public sealed class MigrationRelay
{
    private static readonly TimeSpan s_watchInterval = TimeSpan.FromMilliseconds(20);
    private readonly RelayOptions _options;

    /// <summary>Creates a relay; the options are checked here.</summary>
    public MigrationRelay(RelayOptions? options = null)
    {
        // The parameters validated themselves when they were set; the relay keeps its own copy.
        _options = RelayOptions.Snapshot(options);
        if (_options.MachineType is { } machineType && (machineType.Length is 0 or > MigrationFormat.MaxMachineTypeLength || machineType.Any(c => c is <= ' ' or > '~')))
        {
            throw new EngineParameterException("machine-type", $"machine-type '{machineType}' is not a machine type name (1 to {MigrationFormat.MaxMachineTypeLength} printable characters, e.g. pc-q35-10.0)");
        }

        if (_options.OutputMultifd)
        {
            if (_options.ConnectOutputChannel is null)
            {
                throw new EngineParameterException("to-multifd-channels", "multifd to the destination needs a way to open its channels (ConnectOutputChannel)");
            }

            if (_options.Parameters.MaxBandwidth > 0)
            {
                throw new EngineParameterException("max-bandwidth", "max-bandwidth is not applied to multifd channels: give it without --to-multifd-channels, or leave it 0");
            }
        }
    }

    /// <summary>
    /// Carries the whole stream from <paramref name="source"/> to <paramref name="destination"/> (neither is disposed).
    /// Throws <see cref="MigrationException"/> naming the peer that went away, or the stream feature that cannot be carried.
    /// </summary>
    public RelayResult Run(Stream source, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(destination);
        return Carry(source, destination, null, cancellationToken);
    }

    /// <summary>
    /// Carries a multifd migration (QEMU 7.2's format) whose main connection is <paramref name="source"/>: the channel
    /// connections are accepted from <paramref name="channels"/> and checked as <paramref name="multifd"/>'s destination
    /// would (its channel count, compression and UUID), their pages decoded, and everything goes on to
    /// <paramref name="destination"/> as one single-stream migration: each section's pages re-encoded and written before the
    /// section's EOS, every other byte of the main stream as it came. Neither stream nor the listener is disposed.
    /// </summary>
    public RelayResult Run(Stream source, TcpListener channels, MultifdDestination multifd, Stream destination, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentNullException.ThrowIfNull(channels);
        ArgumentNullException.ThrowIfNull(multifd);
        ArgumentNullException.ThrowIfNull(destination);
        return Carry(source, destination, (multifd, channels), cancellationToken);
    }

    private RelayResult Carry(Stream source, Stream destination, (MultifdDestination Destination, TcpListener Listener)? multifd, CancellationToken cancellationToken)
    {
        var input = new PeerStream(source, _options.SourceName);
        var output = new PeerStream(destination, _options.DestinationName);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var limited = new RateLimitedStream(output, _options.Parameters.MaxBandwidth, stop.Token);

        // The link is kept busy while the next batch is decoded and encoded: a sender thread writes, a few chunks ahead.
        using var sending = new BackgroundWriteStream(limited, cancellationToken: stop.Token);
        input.Connection?.SetReceiveTimeout(_options.IoTimeout);
        output.Connection?.SetSendTimeout(_options.IoTimeout);

        var watch = new Watch(output, input, _options.DestinationName, stop);
        using CancellationTokenRegistration abort = cancellationToken.UnsafeRegister(static s => ((Watch)s!).AbortBoth(), watch);
        var thread = new Thread(watch.Run) { IsBackground = true, Name = "relay watch" };
        var clock = Stopwatch.StartNew();
        thread.Start();

        // A channel that fails wakes the relay's thread, which may be blocked reading the main connection.
        using MultifdChannelSet? channels = multifd is { } m
            ? new MultifdChannelSet(m.Destination, m.Destination.ReadTimeout, trackPages: true, input.Abort, stop.Token)
            : null;
        MultifdOutputTarget? multifdOut = null;
        try
        {
            channels?.Accept(multifd!.Value.Listener);
            MigrationStreamReaderOptions baseOptions = _options.ReaderOptions ?? new MigrationStreamReaderOptions();
            using var transcoder = new Transcoder(new TranscodeOptions
            {
                Parameters = TranscodeParameters(),
                Live = true,
                Progress = _options.Progress,
                ReaderOptions = baseOptions,
            });
            TranscodeResult result = transcoder.Transcode(
                input,
                sending,
                channels,
                channels is null ? null : channels.Allocate,
                !_options.OutputMultifd ? null
                    : (writer, counts, reencoder) => multifdOut = new MultifdOutputTarget(
                        reencoder,
                        writer,
                        counts,
                        _options.Parameters,
                        _options.OutputUuid,
                        _options.MachineType,
                        _options.ConnectOutputChannel!,
                        channels is not null,
                        stop.Token));
            sending.Complete();

            // Every channel ends its connection after the main stream is written, as a multifd source does.
            multifdOut?.Finish();

            // Every byte is written: a destination that closes now has read the whole stream (QEMU closes once it has
            // loaded it), so a close seen by the watch from here on is the normal end, not a fault.
            watch.Finish();
            thread.Join();

            return new RelayResult
            {
                BytesIn = result.BytesRead + (channels?.BytesRead ?? 0),
                BytesOut = output.BytesWritten + (multifdOut?.ChannelBytes ?? 0),
                BytesAfterRam = result.BytesCopiedAfterRam,
                MultifdPerRound = multifdOut?.SyncsPerRound,
                ZeroPages = result.ZeroPages,
                RawPages = result.RawPages,
                CompressedPages = result.CompressedPages,
                XbzrlePages = result.XbzrlePages,
                Elapsed = clock.Elapsed,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            watch.Finish();
            watch.AbortBoth();
            thread.Join();

            // A channel's failure is the cause when the main connection's read was only woken by it.
            throw Explain(channels?.Failure is Exception failure and not OperationCanceledException ? failure : e, input, watch.Reason);
        }
        finally
        {
            watch.Finish();
            thread.Join();

            // Every channel thread to the destination is stopped and joined, whatever happened.
            multifdOut?.Dispose();
        }
    }

    /// <summary>The transcoder's parameters: the relay's, with its workers (<see cref="RelayOptions.Threads"/>) as compress-threads.</summary>
    private MigrationParameters TranscodeParameters()
    {
        MigrationParameters parameters = _options.Parameters.Clone();
        if (_options.OutputMultifd)
        {
            // With multifd out the channels compress: the re-encoder only passes the non-page items on.
            parameters.Compression = CompressionSettings.Parse("none", 0);
            parameters.CompressThreads = 1;
        }
        else
        {
            parameters.CompressThreads = _options.Threads;
        }

        return parameters;
    }

    private MigrationException Explain(Exception e, PeerStream input, string? watchReason)
    {
        if (watchReason is not null)
        {
            // QEMU 9.1 removed the compress capability: such a destination closes at the first compressed page record.
            string hint = _options.Settings.Method == Codecs.CompressMethod.None || _options.OutputMultifd ? string.Empty
                : $"; if it is a QEMU 9.1 or later, it refuses compressed pages (its log: \"Unknown combination of migration flags: 0x100\"): "
                + $"the last relay before a QEMU destination writes --compress-method none (this one wrote {Codecs.CompressionSettings.NameOf(_options.Settings.Method)})";
            return new MigrationException($"relay stopped: {watchReason}{hint}", e);
        }

        if (e is MigrationException direct)
        {
            return new MigrationException($"relay stopped: {direct.Message}", e);
        }

        if (e is MultifdChannelException)
        {
            // It names the channel and the byte offset in it.
            return new MigrationException($"relay stopped: {_options.SourceName}, {e.Message}", e);
        }

        if (e is MigrationStreamException && (input.Ended || input.Failure is not null))
        {
            return new MigrationException(
                $"relay stopped: {_options.SourceName} ended the stream after {input.BytesRead} bytes, before the migration was complete "
                + $"(it died or cancelled the migration): {e.Message}",
                e);
        }

        return new MigrationException($"relay stopped: {e.Message}", e);
    }

    /// <summary>
    /// The destination's watch (<see cref="MigrationConnection.WaitForPeer"/>, every 20 ms): the destination of a precopy
    /// stream never sends, so anything it does (a close, a reset, an alert, an error message) ends the relay.
    /// </summary>
    /// <remarks>
    /// Design: <see cref="Run"/> runs on its own thread until <see cref="Finish"/>, the only user of the destination
    /// connection's watch (the relay's thread only writes); it publishes <see cref="Reason"/> (a volatile write, before it
    /// shuts the sockets down) and the relay thread reads it after its blocked call has been woken by that shutdown.
    /// </remarks>
    private sealed class Watch(PeerStream destination, PeerStream source, string name, CancellationTokenSource stop)
    {
        /// <summary>The most of the destination's bytes quoted in the reason.</summary>
        private const int QuotedBytes = 512;

        private int _finished;
        private string? _reason;

        public string? Reason => Volatile.Read(ref _reason);

        public void Finish() => Volatile.Write(ref _finished, 1);

        public void AbortBoth()
        {
            destination.Abort();
            source.Abort();
        }

        public void Run()
        {
            if (destination.Connection is not { } connection)
            {
                return;
            }

            while (Volatile.Read(ref _finished) == 0)
            {
                if (!connection.WaitForPeer(s_watchInterval) || Volatile.Read(ref _finished) != 0)
                {
                    continue;
                }

                PeerSignal signal = connection.ReadPeer();
                if (Volatile.Read(ref _finished) != 0)
                {
                    return;
                }

                string reason;
                if (signal.Failure is Exception failure)
                {
                    reason = $"{name}'s connection failed: {TlsTransport.DescribeFailure(failure)}";
                }
                else if (signal.Ended)
                {
                    reason = connection.IsTls
                        ? $"{name} closed the TLS connection (it died, refused the stream, or refused this relay's certificate)"
                        : $"{name} closed the connection (it died, or refused the stream)";
                }
                else
                {
                    ReadOnlySpan<byte> bytes = signal.Bytes.Span;
                    string text = MigrationStreamReader.Printable(bytes[..Math.Min(bytes.Length, QuotedBytes)]).Trim();
                    if (text.StartsWith(MigrationReply.ReceivedLine, StringComparison.Ordinal))
                    {
                        // An Engine destination's end-of-stream line: the stream is complete, nothing more to watch.
                        return;
                    }

                    reason = $"{name} sent data in the middle of a precopy stream (it failed, or speaks another protocol): {text}";
                }

                Stop(reason);
                return;
            }
        }

        private void Stop(string reason)
        {
            Volatile.Write(ref _reason, reason);
            stop.Cancel();
            AbortBoth();
        }
    }
}
