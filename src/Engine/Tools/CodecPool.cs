using Engine.Codecs;
using Engine.Wire;

namespace Engine.Tools;

/// <summary>One decompressor per worker and method, created on first use and kept for the life of the pool.</summary>
internal sealed class CodecPool : IDisposable
{
    private readonly Func<CompressMethod, IPageDecompressor> _factory;
    private readonly IPageDecompressor?[,] _decompressors;

    public CodecPool(int workers, Func<CompressMethod, IPageDecompressor>? factory)
    {
        _factory = factory ?? (method => PageCodecs.CreateDecompressor(method));
        _decompressors = new IPageDecompressor?[workers, 3];
    }

    /// <summary>Creates, on the calling (reader) thread, the decompressors a batch will need, so workers never create any.</summary>
    public void Prepare(PageBatch batch)
    {
        for (int slot = 0; slot < batch.Count; slot++)
        {
            if (batch.Kinds[slot] == MigrationItemKind.CompressedPage)
            {
                CompressMethod method = batch.Methods[slot];
                if (_decompressors[0, (int)method] is null)
                {
                    for (int worker = 0; worker < _decompressors.GetLength(0); worker++)
                    {
                        _decompressors[worker, (int)method] = _factory(method);
                    }
                }
            }
        }
    }

    public IPageDecompressor Get(int worker, CompressMethod method)
        => _decompressors[worker, (int)method] ?? throw new InvalidOperationException($"no {method} decompressor was prepared");

    public void Dispose()
    {
        foreach (IPageDecompressor? decompressor in _decompressors)
        {
            decompressor?.Dispose();
        }
    }
}
