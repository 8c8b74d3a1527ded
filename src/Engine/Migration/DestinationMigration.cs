using System.Diagnostics;
using System.Net.Sockets;
using Engine.Codecs;
using Engine.Diagnostics;
using Engine.Memory;
using Engine.Pipeline;
using Engine.Receive;
using Engine.Transport;
using Engine.Wire;

namespace Engine.Migration;

/// <summary>
/// The destination side: reads the stream (every field validated by <see cref="MigrationStreamReader"/>), applies the pages
/// to fresh guest memory through the <see cref="DecompressionEngine"/>, waits for its workers at every end of section, and,
/// over a connection, answers the source (<see cref="MigrationReply"/>).
/// </summary>
/// <remarks>
/// An incomplete or bad stream is discarded: the memory is freed and a <see cref="MigrationException"/> says why and at which
/// byte; over a connection the source is told too (best effort). Runs on the calling thread.
/// </remarks>
public sealed class DestinationMigration
{
    private readonly DestinationOptions _options;

    /// <summary>Creates a destination with <paramref name="options"/>.</summary>
    public DestinationMigration(DestinationOptions? options = null)
    {
        _options = DestinationOptions.Snapshot(options);
    }

    /// <summary>
    /// Loads a whole stream from <paramref name="input"/>. When it is a connection (a <see cref="NetworkStream"/>, or TLS over
    /// one from <see cref="TlsTransport"/>), replies to the source on it, and drops a source that trickles
    /// (<see cref="DestinationOptions.MinimumProgressBytes"/>). Returns the memory (the caller disposes it); throws <see cref="MigrationException"/> when the stream is
    /// incomplete or bad, or <see cref="OperationCanceledException"/>.
    /// </summary>
    public DestinationResult Run(Stream input, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        MigrationConnection? network = MigrationConnection.Of(input);
        Stream? connection = network?.Stream; // replies go inside TLS when the connection has it
        GuestMemory? memory = null;
        var clock = Stopwatch.StartNew();

        // Live metrics (EngineMetrics), published by the receive loop.
        using DestinationTracker metrics = EngineMetrics.TrackDestination();
        ProgressGuardStream? guard = null;
        // A connection is read with plain blocking reads: the socket's receive timeout bounds a silent source, and a
        // cancellation shuts the socket down, which ends a blocked read at once. (The reader's own timeout and token path
        // waits on a task per read that has to wait, which costs an allocation per read in steady state.) Other streams
        // (files) use the reader's token and timeout.
        // The receive side only: the error line telling the source why can still go out.
        using CancellationTokenRegistration abort = network?.ShutdownWhenCancelled(cancellationToken, SocketShutdown.Receive) ?? default;
        network?.SetReceiveTimeout(_options.ReadTimeout);

        try
        {
            // Stop after RAM's END: a QEMU source goes on with device sections that are kept verbatim (StreamTail), an
            // Engine source with EOF alone.
            var readerOptions = new MigrationStreamReaderOptions
            {
                StopAfterRamEnd = true,
                ReadTimeout = network is null ? _options.ReadTimeout : Timeout.InfiniteTimeSpan,
                CancellationToken = network is null ? cancellationToken : CancellationToken.None,
                MaxTotalRamBytes = _options.MaxRamBytes,
                ExpectedCompressMethod = _options.ExpectedMethod,
                AcceptMappedRam = input is FileStream, // its pages are read at their offsets in the file, below
            };
            guard = connection is not null ? new ProgressGuardStream(connection, _options.ReadTimeout, Math.Max(0, _options.MinimumProgressBytes)) : null;
            Stream source = guard ?? input;
            using var reader = new MigrationStreamReader(source, readerOptions, leaveOpen: true);
            using var engine = new DecompressionEngine(_options.EngineOptions());
            var kept = new ReceivedStreamParts();
            var target = new GuestMemoryTarget(engine, r => memory = kept.ObserveBlockList(r), kept.Observe);

            // Live metrics published at every end of section and at the end, nothing per page.
            var loop = new ReceiveLoop(reader, target) { Metrics = metrics };
            if (!loop.Run() || memory is null)
            {
                throw new MigrationStreamException(reader.Position, "the stream ended before the RAM section's END: incomplete stream");
            }

            engine.WaitForDone();
            if (reader.IsMappedRam)
            {
                MappedRamReader.Load(input, reader, memory.Blocks, MappedRamReader.DefaultThreads, destinationIsZero: true, cancellationToken);
            }

            // A QEMU source (device state after RAM) expects no reply; the reply is an Engine-to-Engine extension.
            kept.ReadTail(reader, _options.MaxDeviceStateBytes);
            TimeSpan elapsed = clock.Elapsed;
            loop.Finish();
            metrics.SetOutcome(MigrationOutcome.Completed);
            IReadOnlyList<BlockChecksum> checksums = kept.Acknowledge(connection, memory);

            DestinationResult result = kept.Fill(
                new DestinationResult
                {
                    Memory = memory,
                    Checksums = checksums,
                    StreamBytes = reader.Position,
                    ZeroPages = loop.ZeroPages,
                    RawPages = loop.RawPages,
                    CompressedPages = loop.CompressedPages,
                    XbzrlePages = loop.XbzrlePages,
                    Elapsed = elapsed,
                });
            memory = null; // handed to the caller
            return result;
        }
        catch (Exception e) when (cancellationToken.IsCancellationRequested)
        {
            // Also the I/O error of a read that the cancellation's shutdown ended.
            metrics.SetOutcome(MigrationOutcome.Cancelled);
            if (connection is not null)
            {
                MigrationReply.TryWriteError(connection, "the destination cancelled the migration");
            }

            throw e as OperationCanceledException ?? new OperationCanceledException("the incoming migration was cancelled", e, cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Whatever went wrong, the source is told why (it stops at once: see PrecopyDriver.Destination.cs) and the memory is freed.
            string reason = e is MigrationStreamException ? e.Message : $"{e.GetType().Name}: {e.Message}";
            if (guard is { BytesRead: 0 } && network is { IsTls: true })
            {
                // TLS 1.3: the source judges this destination's certificate after its handshake ended, and leaves.
                reason = "the source closed the TLS connection right after the handshake without sending anything: a TLS source does this when it refuses this destination's certificate (not from its CA, expired, or not for the name it expected; the source's error says which)";
            }

            if (connection is not null)
            {
                MigrationReply.TryWriteError(connection, $"the destination discarded the stream: {reason}");
            }

            throw new MigrationException($"incoming migration discarded: {reason}", e);
        }
        finally
        {
            memory?.Dispose();
        }
    }
}
