using System.Runtime.InteropServices;

namespace Engine.Threading;

/// <summary>
/// The indices of a <see cref="SpscRing{T}"/>, laid out by hand so that the producer's and the consumer's fields live on
/// different cache lines.
/// </summary>
/// <remarks>
/// Design: the producer writes <see cref="Tail"/> and keeps a private copy of the consumer's index in
/// <see cref="CachedHead"/>; the consumer writes <see cref="Head"/> and keeps <see cref="CachedTail"/>. Each side's pair
/// shares a line (only that side touches both), and the two pairs are <see cref="CacheLine.PaddingSize"/> bytes apart, so
/// a write on one side never invalidates the line the other side is reading. The first and last
/// <see cref="CacheLine.PaddingSize"/> bytes are empty so that whatever the runtime places before or after this struct
/// (other fields, another object) cannot share a line with either pair. Offsets are asserted by a test.
/// </remarks>
[StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine.PaddingSize)]
internal struct SpscCursors
{
    /// <summary>Producer side: the number of items ever enqueued (the next slot to write). Written by the producer only.</summary>
    [FieldOffset(CacheLine.PaddingSize)]
    public long Tail;

    /// <summary>Producer side: the last value of <see cref="Head"/> the producer read. Producer-private.</summary>
    [FieldOffset(CacheLine.PaddingSize + sizeof(long))]
    public long CachedHead;

    /// <summary>Consumer side: the number of items ever dequeued (the next slot to read). Written by the consumer only.</summary>
    [FieldOffset(2 * CacheLine.PaddingSize)]
    public long Head;

    /// <summary>Consumer side: the last value of <see cref="Tail"/> the consumer read. Consumer-private.</summary>
    [FieldOffset(2 * CacheLine.PaddingSize + sizeof(long))]
    public long CachedTail;
}
