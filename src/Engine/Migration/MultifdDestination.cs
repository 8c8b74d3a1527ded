using System.Diagnostics;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Diagnostics;
using Engine.Memory;
using Engine.Migration;
using Engine.Multifd;
using Engine.Pipeline;
using Engine.Receive;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// The destination of a multifd migration (QEMU 7.2's format, from QEMU or from <see cref="MultifdSource"/>): the main
/// connection's stream is read on the calling thread (every field validated by <see cref="MigrationStreamReader"/>), and
/// N receive channels, one thread each, read packets straight into guest memory.
/// </summary>
/// <remarks>
/// <para>
/// As QEMU 7.2's destination: the first accepted connection is the main channel (the caller accepts it), then the N
/// channel connections are accepted, each opening with its hello (magic, version, UUID, an id below N, no id twice). The
/// main channel is read by the receive loop (<c>ReceiveLoop</c>), the channels are its second page source: at each barrier
/// (every EOS of a per-section source: QEMU 7.2, machine types up to 8.0, Engine; every MULTIFD_FLUSH record of a QEMU 8.1+
/// source that syncs per round) the destination waits until every channel has read its SYNC packet, then lets them go on;
/// per round, every channel is read to its end once the main stream is done. The main channel carries the block list,
/// ZERO records and EOS; pages in RAW records there are applied too, through the same decompression engine as a single
/// stream's. Metrics and <see cref="DestinationOptions"/> are as for <see cref="DestinationMigration"/>, but for
/// <see cref="DestinationOptions.MinimumProgressBytes"/>: the main channel is quiet by design, and each connection's read
/// timeout bounds a silent one.
/// </para>
/// <para>
/// After the RAM section's END the rest of the main stream (a QEMU source's device state, EOF, the VM description) is kept
/// verbatim until the source closes, as the single-stream destination keeps it (<see cref="ReceivedStreamParts"/>), so the
/// result can be saved as a checkpoint (<see cref="Checkpoint"/>). Then an Engine source (EOF alone after RAM) gets the
/// reply (<see cref="MigrationReply"/>); a QEMU source expects none. Any failure (a bad field on any connection, a channel that never
/// connects, a timeout) stops every thread, frees the memory, tells the source on the main connection and throws a
/// <see cref="MigrationException"/> whose cause names the connection and the byte offset.
/// </para>
/// </remarks>
public sealed class MultifdDestination
{
    private readonly MigrationParameters _multifd;
    private readonly DestinationOptions _options;
    private readonly byte[] _uuid;

    /// <summary>
    /// Creates a destination expecting <paramref name="options"/>' <c>multifd-channels</c> and <c>multifd-compression</c>
    /// (<see cref="DestinationOptions.Parameters"/>, copied now) and its <see cref="DestinationOptions.Uuid"/>.
    /// </summary>
    public MultifdDestination(DestinationOptions? options = null)
    {
        _options = DestinationOptions.Snapshot(options);
        _multifd = _options.Parameters;
        _uuid = _options.Uuid.ToByteArray(bigEndian: true);
        CompressMethod method = _multifd.Compression.Method;
        if (_options.Strict && _multifd.MultifdCompression != CompressMethod.None && _multifd.MultifdCompression != method)
        {
            // Strict: every compressed page must be of the destination's method, the channels' packets too.
            throw new EngineParameterException(
                "compress-method",
                $"strict compress-method {CompressionSettings.NameOf(method)} refuses the channels' multifd-compression {CompressionSettings.NameOf(_multifd.MultifdCompression)}");
        }
    }

    /// <summary>The parameters (this destination's copy): the channels and compression expected.</summary>
    internal MigrationParameters Parameters => _multifd;

    /// <summary>How long one read, a barrier or the drain at RAM's end may wait for the source.</summary>
    internal TimeSpan ReadTimeout => _options.ReadTimeout;

    /// <summary>How long to wait for all channel connections after the main one; default the read timeout.</summary>
    public TimeSpan ChannelConnectTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// TLS (server credentials) on every channel connection, as QEMU runs it: the handshake right after the accept, before
    /// the hello; a channel that does not start TLS, or whose certificate is refused, fails the migration naming the
    /// connection. The main connection is the caller's to authenticate (it arrives as <see cref="Run"/>'s stream). Null:
    /// plain channels.
    /// </summary>
    public TlsOptions? Tls { get; init; }

    /// <summary>
    /// Receives a migration whose main connection is <paramref name="main"/>; the channel connections are accepted from
    /// <paramref name="listener"/>. Returns the memory (the caller disposes it).
    /// </summary>
    public DestinationResult Run(Stream main, TcpListener listener, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(main);
        ArgumentNullException.ThrowIfNull(listener);
        MigrationConnection connection = MigrationConnection.Of(main)
            ?? throw new ArgumentException("the main channel must be a connection (a NetworkStream, or TLS over one from TlsTransport)", nameof(main));
        var clock = Stopwatch.StartNew();
        GuestMemory? memory = null;

        // Live metrics (EngineMetrics), published by the receive loop as for a single stream, channels included.
        using DestinationTracker metrics = EngineMetrics.TrackDestination();
        using CancellationTokenRegistration abort = connection.ShutdownWhenCancelled(cancellationToken, SocketShutdown.Receive);
        connection.SetReceiveTimeout(_options.ReadTimeout);

        // A channel that fails wakes the main thread, which may be blocked reading the main connection.
        var channels = new MultifdChannelSet(this, _options.ReadTimeout, trackPages: false, () => connection.Shutdown(SocketShutdown.Receive), cancellationToken);
        try
        {
            channels.Accept(listener);
            var readerOptions = new MigrationStreamReaderOptions
            {
                StopAfterRamEnd = true,
                MaxTotalRamBytes = _options.MaxRamBytes,
                ExpectedCompressMethod = _options.ExpectedMethod,
            };
            using var reader = new MigrationStreamReader(main, readerOptions, leaveOpen: true);

            // The main channel's pages go through the same engine as a single stream's (zero pages not faulted in).
            using var engine = new DecompressionEngine(_options.EngineOptions());
            var kept = new ReceivedStreamParts();
            var target = new GuestMemoryTarget(
                engine,
                r =>
                {
                    memory = kept.ObserveBlockList(r);
                    channels.Publish(memory);
                    return memory;
                },
                kept.Observe);
            var loop = new ReceiveLoop(reader, target, channels) { Metrics = metrics };
            if (!loop.Run() || memory is null)
            {
                throw new MigrationStreamException(reader.Position, "the main channel ended before the RAM section's END: incomplete stream");
            }

            engine.WaitForDone();
            TimeSpan elapsed = clock.Elapsed;
            kept.ReadTail(reader, _options.MaxDeviceStateBytes);

            // Per-round sync (QEMU 8.1+ machine types): the last pages come after the last barrier, so every channel is
            // read to its end before guest RAM counts as complete. Then every channel is stopped.
            loop.Finish();
            channels.StopAll();
            channels.ThrowIfFailed();
            loop.PublishMetrics();
            metrics.SetOutcome(MigrationOutcome.Completed);

            IReadOnlyList<BlockChecksum> checksums = kept.Acknowledge(main, memory);

            DestinationResult result = kept.Fill(new DestinationResult
            {
                Memory = memory,
                Checksums = checksums,
                StreamBytes = loop.BytesTotal,
                ZeroPages = loop.ZeroPagesTotal,
                RawPages = loop.NormalPagesTotal,
                CompressedPages = loop.CompressedPagesTotal,
                Elapsed = elapsed,
            });
            memory = null;
            return result;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested && channels.Failure is null)
        {
            metrics.SetOutcome(MigrationOutcome.Cancelled);
            MigrationReply.TryWriteError(main, "the destination cancelled the migration");
            throw e as OperationCanceledException ?? new OperationCanceledException("the incoming migration was cancelled", e, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException || channels.Failure is not null)
        {
            // A channel's failure is the real reason when the main channel's read was only woken by it.
            // (A channel fails only on its own input; it wakes the main thread by shutting the main connection's reading
            // side, which the main reader then reports as a short stream.)
            Exception cause = channels.Failure is Exception channelFailure and not OperationCanceledException ? channelFailure : e;
            string reason = cause is EngineException ? cause.Message : $"{cause.GetType().Name}: {cause.Message}";
            MigrationReply.TryWriteError(main, $"the destination discarded the stream: {reason}");
            throw new MigrationException($"incoming multifd migration discarded: {reason}", cause);
        }
        finally
        {
            // Every channel thread is joined before the memory it writes is freed.
            channels.Dispose();
            memory?.Dispose();
        }
    }

    /// <summary>Accepts the N channel connections, checks each hello and starts each channel's thread (QEMU 7.2's order: after the main one).</summary>
    internal void AcceptChannels(TcpListener listener, MultifdReceiveChannel?[] channels, MultifdReceiveState state, CancellationToken cancellationToken)
    {
        TimeSpan limit = ChannelConnectTimeout > TimeSpan.Zero ? ChannelConnectTimeout : _options.ReadTimeout;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        Span<byte> hello = stackalloc byte[MultifdFormat.HelloLength];
        for (int accepted = 0; accepted < channels.Length; accepted++)
        {
            Stream stream = AcceptChannel(listener, Tls, _options.ReadTimeout, accepted, channels, limit, timeout.Token, cancellationToken);
            int id;
            try
            {
                int got = 0;
                while (got < hello.Length)
                {
                    int n;
                    try
                    {
                        n = stream.Read(hello[got..]);
                    }
                    catch (IOException e)
                    {
                        throw new MultifdChannelException(-1, got, $"connection {accepted + 1} of {channels.Length} sent no hello: {e.InnerException?.Message ?? e.Message}", e);
                    }

                    if (n == 0)
                    {
                        throw new MultifdChannelException(-1, got, $"connection {accepted + 1} of {channels.Length} ended inside its hello ({got} of {MultifdFormat.HelloLength} bytes)");
                    }

                    got += n;
                }

                id = MultifdFormat.ParseHello(hello, _uuid, channels.Length, out string? error, out int errorOffset);
                if (id < 0)
                {
                    throw new MultifdChannelException(hello[24] < channels.Length && errorOffset != 24 ? hello[24] : -1, errorOffset, $"connection {accepted + 1} of {channels.Length}: {error}");
                }

                if (channels[id] is not null)
                {
                    throw new MultifdChannelException(id, 24, $"connection {accepted + 1} of {channels.Length} repeats channel id {id}, which is already connected");
                }
            }
            catch
            {
                stream.Dispose();
                throw;
            }

            var channel = new MultifdReceiveChannel(id, stream, _multifd.MultifdCompression, state);
            channels[id] = channel;
            channel.Start();
        }
    }

    /// <summary>
    /// Accepts the next channel connection (the <paramref name="accepted"/>-th, counting from 0) and, with
    /// <paramref name="tls"/>, runs the server handshake on it before its hello is read. Every multifd channel a destination
    /// accepts comes through here, so each gets TLS when the migration has it. A connection that does not come within
    /// <paramref name="limitToken"/>'s time, or that TLS refuses, throws <see cref="MultifdChannelException"/> naming it.
    /// </summary>
    internal static Stream AcceptChannel(TcpListener listener, TlsOptions? tls, TimeSpan ioTimeout, int accepted, MultifdReceiveChannel?[] channels, TimeSpan limit, CancellationToken limitToken, CancellationToken cancellationToken)
    {
        NetworkStream network;
        try
        {
            network = TcpTransport.Accept(listener, ioTimeout, limitToken);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            int missing = Array.FindIndex(channels, c => c is null);
            throw new MultifdChannelException(missing, 0, $"never connected: {accepted} of {channels.Length} channels connected within {limit.TotalSeconds:0.#} s");
        }

        if (tls is null)
        {
            return network;
        }

        try
        {
            // As QEMU: TLS right after the accept on every channel (the connection is disposed on failure).
            return TlsTransport.AuthenticateAsServer(network, tls, limitToken);
        }
        catch (EngineException e) when (e.Kind == EngineErrorKind.Security)
        {
            throw new MultifdChannelException(-1, 0, $"connection {accepted + 1} of {channels.Length} (before its hello): {e.Message}", e);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new MultifdChannelException(-1, 0, $"connection {accepted + 1} of {channels.Length}: its TLS handshake did not finish within the {limit.TotalSeconds:0.#} s the channels have to connect");
        }
    }
}
