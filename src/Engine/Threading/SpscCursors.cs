using System.Runtime.InteropServices;

namespace Engine.Threading;

/// <summary>
/// The indices of a <see cref="SpscRing{T}"/>, laid out by hand so that the producer's and the consumer's fields live on
/// different cache lines.
/// </summary>
/// <remarks>
/// Design: the producer writes <see cref="Tail"/> and <see cref="ProducerWakeAt"/> and keeps a private copy of the
/// consumer's index in <see cref="CachedHead"/>; the consumer writes <see cref="Head"/> and keeps <see cref="CachedTail"/>.
/// Each side's fields share a line, and the two sides are <see cref="CacheLine.PaddingSize"/> bytes apart, so a write on
/// one side never invalidates the line the other side is reading. (The consumer reads <see cref="ProducerWakeAt"/>, on
/// the producer's line, only while the producer is parked, when that line is not being written.) The first and last
/// <see cref="CacheLine.PaddingSize"/> bytes are empty so that whatever the runtime places before or after this struct
/// (other fields, another object) cannot share a line with either side. Offsets are asserted by a test.
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

    /// <summary>
    /// Producer side: the consumer wakes a parked producer only when it advances <see cref="Head"/> to this position or
    /// beyond. Written by the producer before it waits (rarely); read by the consumer only when the producer is parked.
    /// </summary>
    [FieldOffset(CacheLine.PaddingSize + (2 * sizeof(long)))]
    public long ProducerWakeAt;

    /// <summary>Consumer side: the number of items ever dequeued (the next slot to read). Written by the consumer only.</summary>
    [FieldOffset(2 * CacheLine.PaddingSize)]
    public long Head;

    /// <summary>Consumer side: the last value of <see cref="Tail"/> the consumer read. Consumer-private.</summary>
    [FieldOffset(2 * CacheLine.PaddingSize + sizeof(long))]
    public long CachedTail;
}
