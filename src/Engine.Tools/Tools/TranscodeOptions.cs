using Engine.Codecs;
using Engine.Migration;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>Options of <see cref="Transcoder"/>: QEMU's parameters of the output and the transcoder's own.</summary>
public sealed record TranscodeOptions
{
    /// <summary>
    /// The output's parameters: <c>compress-method</c>/<c>compress-level</c> (<see cref="CompressMethod.None"/> writes plain
    /// pages; default zlib level 1) and <c>compress-threads</c>, the compress workers (the input's pages are decompressed by the reading thread;
    /// default 8).
    /// </summary>
    public MigrationParameters Parameters { get; init; } = new();

    /// <summary>Creates one compressor per worker for <see cref="Settings"/>; default <see cref="PageCodecs.CreateCompressor"/>.</summary>
    public Func<CompressionSettings, IPageCompressor>? CompressorFactory { get; init; }

    /// <summary>Creates one decompressor per input method (used by the reading thread); default <see cref="PageCodecs.CreateDecompressor"/>.</summary>
    public Func<CompressMethod, IPageDecompressor>? DecompressorFactory { get; init; }

    /// <summary>Reader limits (timeouts, caps); <see cref="MigrationStreamReaderOptions.StopAfterRamEnd"/> is always on.</summary>
    internal MigrationStreamReaderOptions? ReaderOptions { get; init; }

    /// <summary>
    /// A live stream (a relay between two migration peers): the output is flushed after every section footer, so the
    /// destination gets each section as soon as it is complete, and commands a one-way carrier cannot pass on (return
    /// path, postcopy, COLO; <see cref="QemuStreamFeatures"/>) are refused before anything after them is written.
    /// </summary>
    public bool Live { get; init; }

    /// <summary>Receives the number of input bytes read, at every RAM section end.</summary>
    public IProgress<long>? Progress { get; init; }

    /// <summary>The output's method and level (<see cref="Parameters"/>' compression).</summary>
    internal CompressionSettings Settings => Parameters.Compression;

    /// <summary>The workers (<see cref="Parameters"/>' <c>compress-threads</c>).</summary>
    internal int CompressThreads => Parameters.CompressThreads;
}
