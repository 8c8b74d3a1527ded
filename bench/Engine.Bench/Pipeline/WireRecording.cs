using Engine.Bench.Pages;
using Engine.Codecs;
using Engine.Memory;
using Engine.Pipeline;

namespace Engine.Bench.Pipeline;

/// <summary>
/// The results of one compression pass over a block, kept so the decompression benchmark can feed the destination
/// engine the very payloads the source produced, without a stream in between.
/// </summary>
internal sealed unsafe class WireRecording : IDisposable
{
    private readonly PageResultKind[] _kinds;
    private readonly int[] _lengths;
    private readonly NativeBuffer _bytes;

    private WireRecording(int pages)
    {
        _kinds = new PageResultKind[pages];
        _lengths = new int[pages];
        _bytes = new NativeBuffer((long)pages * PayloadSet.Stride);
    }

    /// <summary>The bytes the results carry (payloads and raw pages; zero pages carry none).</summary>
    public long WireBytes { get; private set; }

    public static WireRecording Record(CompressionEngine engine, RamBlock block)
    {
        WireRecording recording = new((int)block.PageCount);
        engine.CompressBlock(block, recording.Add);
        return recording;
    }

    /// <summary>Submits every recorded page, in order, to <paramref name="engine"/> for <paramref name="block"/>.</summary>
    public void Replay(DecompressionEngine engine, RamBlock block)
    {
        for (int i = 0; i < _kinds.Length; i++)
        {
            long offset = (long)i << PageSizes.PageShift;
            switch (_kinds[i])
            {
                case PageResultKind.Zero:
                    engine.SubmitZero(block, offset);
                    break;
                case PageResultKind.Compressed:
                    engine.SubmitCompressed(block, offset, Bytes(i));
                    break;
                default:
                    engine.SubmitRaw(block, offset, Bytes(i));
                    break;
            }
        }
    }

    public void Dispose() => _bytes.Dispose();

    private ReadOnlySpan<byte> Bytes(int index) => _bytes.Slice((long)index * PayloadSet.Stride, _lengths[index]);

    private void Add(in PageResult result)
    {
        int index = (int)(result.Offset >> PageSizes.PageShift);
        _kinds[index] = result.Kind;
        _lengths[index] = result.Length;
        result.Bytes.CopyTo(_bytes.Slice((long)index * PayloadSet.Stride, result.Length));
        WireBytes += result.Length;
    }
}
