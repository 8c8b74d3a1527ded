using System.Runtime.CompilerServices;
using Engine.Codecs;
using Engine.Memory;

namespace Engine.Pipeline;

/// <summary>
/// One page as the compression engine hands it back: which page, and what to send for it. <see cref="Bytes"/> points
/// into the engine's buffers and stays valid until the result is released (<see cref="CompressionEngine.Release(in PageResult)"/>).
/// </summary>
public readonly unsafe struct PageResult
{
    private readonly CompressionEngine? _owner;
    private readonly byte* _bytes;
    private readonly int _length;

    internal PageResult(CompressionEngine owner, long sequence, RamBlock block, long offset, PageResultKind kind, CompressMethod method, bool busy, byte* bytes, int length)
    {
        _owner = owner;
        Sequence = sequence;
        Block = block;
        Offset = offset;
        Kind = kind;
        Method = method;
        IsBusy = busy;
        _bytes = bytes;
        _length = length;
    }

    /// <summary>The page's RAM block.</summary>
    public RamBlock Block { get; }

    /// <summary>The page's offset inside <see cref="Block"/>.</summary>
    public long Offset { get; }

    /// <summary>Zero, compressed or raw.</summary>
    public PageResultKind Kind { get; }

    /// <summary>The method of a compressed payload (<see cref="CompressMethod.None"/> for zero and raw pages).</summary>
    public CompressMethod Method { get; }

    /// <summary>True when no worker was free (compress-wait-thread off) and the caller's thread took the page itself.</summary>
    public bool IsBusy { get; }

    /// <summary>The number of bytes in <see cref="Bytes"/>.</summary>
    public int Length => _length;

    /// <summary>The position of this page in submission order, counted from 0.</summary>
    public long Sequence { get; }

    /// <summary>
    /// What to send: the compressed payload, or for a raw page the 4096-byte snapshot the worker checked and tried to
    /// compress (not the live guest page, which may have changed since); empty for a zero page. Throws
    /// <see cref="InvalidOperationException"/> once the result has been released, and <see cref="ObjectDisposedException"/>
    /// once the engine has freed its buffers.
    /// </summary>
    public ReadOnlySpan<byte> Bytes
    {
        get
        {
            if (_owner is null)
            {
                ThrowDefault();
            }

            _owner.ThrowIfNotLive(Sequence);
            return new ReadOnlySpan<byte>(_bytes, _length);
        }
    }

    /// <summary>The engine that produced the result.</summary>
    internal CompressionEngine? Owner => _owner;

    /// <inheritdoc />
    public override string ToString() => $"{Block?.Name}@0x{Offset:x}: {Kind}{(Kind == PageResultKind.Compressed ? $" {Method}" : "")} {_length} bytes{(IsBusy ? " (busy)" : "")}";

    [MethodImpl(MethodImplOptions.NoInlining)]
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private static void ThrowDefault()
        => throw new InvalidOperationException("this page result is default: it came from no engine");
}
