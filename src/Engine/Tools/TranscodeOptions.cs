using Engine.Codecs;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>Options of <see cref="Transcoder"/>.</summary>
internal sealed class TranscodeOptions
{
    /// <summary>The output's method and level; <see cref="CompressMethod.None"/> writes plain pages. Default zlib level 1.</summary>
    public CompressionSettings Settings { get; init; } = CompressionSettings.Default;

    /// <summary>Compress workers (QEMU's <c>compress-threads</c>), 1 to 255; they also decompress the input's pages. Default 8.</summary>
    public int CompressThreads { get; init; } = 8;

    /// <summary>Creates one compressor per worker for <see cref="Settings"/>; default <see cref="PageCodecs.CreateCompressor"/>.</summary>
    public Func<CompressionSettings, IPageCompressor>? CompressorFactory { get; init; }

    /// <summary>Creates one decompressor per worker and input method; default <see cref="PageCodecs.CreateDecompressor"/>.</summary>
    public Func<CompressMethod, IPageDecompressor>? DecompressorFactory { get; init; }

    /// <summary>Reader limits (timeouts, caps); <see cref="MigrationStreamReaderOptions.StopAfterRamEnd"/> is always on.</summary>
    public MigrationStreamReaderOptions? ReaderOptions { get; init; }

    /// <summary>
    /// A live stream (a relay between two migration peers): the output is flushed after every section footer, so the
    /// destination gets each section as soon as it is complete, and commands a one-way carrier cannot pass on (return
    /// path, postcopy, COLO; <see cref="QemuStreamFeatures"/>) are refused before anything after them is written.
    /// </summary>
    public bool Live { get; init; }

    /// <summary>Receives the number of input bytes read, at every RAM section end.</summary>
    public IProgress<long>? Progress { get; init; }
}
