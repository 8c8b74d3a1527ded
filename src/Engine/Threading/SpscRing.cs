using System.Globalization;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Engine.Threading;

/// <summary>
/// A bounded, lock-free ring for exactly one producer thread and one consumer thread, with an optional
/// <see cref="ThreadParker"/> on each side to wait for items or for room.
/// </summary>
/// <remarks>
/// Design: the items live in a fixed array whose length (the capacity) is a power of two, so a slot is an index masked
/// with <c>capacity - 1</c>. <c>Tail</c> counts items ever enqueued and is written only by the producer; <c>Head</c> counts
/// items ever dequeued and is written only by the consumer. Both are 64-bit and only grow, so there is no ABA and
/// <c>Tail - Head</c> is the exact fill level (it cannot wrap in any realistic lifetime). A slot belongs to the producer
/// while <c>index &gt;= Head</c> and to the consumer while <c>index &lt; Tail</c>: the producer writes the item, then
/// publishes it with a release store of Tail; the consumer reads it after an acquire load of Tail, and hands the slot back
/// with a release store of Head. Each side keeps a private copy of the other side's index (<c>CachedHead</c>,
/// <c>CachedTail</c>) and rereads the shared one only when the copy says "full" or "empty", so on the busy path neither
/// side touches the other's cache line. The indices sit on separate cache lines (<see cref="SpscCursors"/>).
/// <para>
/// Consumers can also peek, work on the item in place and advance afterwards (<see cref="TryPeek"/>, <see cref="Advance"/>):
/// then the slot, and anything the producer associated with its index, stays the consumer's until it is done.
/// </para>
/// <para>
/// Waiting: after publishing, the producer calls the consumer's parker's <see cref="ThreadParker.WakeIfParked"/>, and after
/// advancing the consumer calls the producer's; a side without a parker never waits and never pays for the fence.
/// </para>
/// <para>
/// A producer that parks can say when it wants to be woken (<see cref="WakeProducerAt"/>): the consumer then wakes it
/// only with the advance that takes Head to exactly that position, not on every advance. A producer can thus wait for a
/// full ring to drain to a low-water mark with one park and one wake-up for several items (and later advances, made
/// while the producer is waking up, do not wake it again), and a producer whose one parker serves several rings is not
/// woken by rings it is not waiting on. Head moves by one, so exactly one advance reaches the position. The position is
/// written before the producer raises its parked flag (a full fence), and the consumer reads it after its own fence and
/// an acquire read of that flag, so the usual handshake covers it: that one advance either is seen by the producer's
/// last check of its condition, or sees the flag and the position and wakes it. The default, 0, wakes on every advance.
/// </para>
/// </remarks>
/// <typeparam name="T">The item: unmanaged, so the ring holds no references and a slot is copied in one move.</typeparam>
internal sealed class SpscRing<T>
    where T : unmanaged
{
    private readonly T[] _items;
    private readonly long _mask;
    private readonly ThreadParker? _consumerParker;
    private readonly ThreadParker? _producerParker;
    private SpscCursors _cursors;

    /// <summary>Creates an empty ring.</summary>
    /// <param name="capacity">A power of two, at least 1.</param>
    /// <param name="consumerParker">Woken after each enqueue if the consumer waits on it; null if the consumer never waits.</param>
    /// <param name="producerParker">Woken after each dequeue if the producer waits on it; null if the producer never waits.</param>
    public SpscRing(int capacity, ThreadParker? consumerParker = null, ThreadParker? producerParker = null)
    {
        if (capacity <= 0 || !BitOperations.IsPow2(capacity))
        {
            throw new ArgumentOutOfRangeException(
                nameof(capacity), capacity, string.Create(CultureInfo.InvariantCulture, $"a ring's capacity must be a power of two (1, 2, 4, ...); {capacity} is not"));
        }

        _items = new T[capacity];
        _mask = capacity - 1;
        _consumerParker = consumerParker;
        _producerParker = producerParker;
    }

    /// <summary>The number of slots.</summary>
    public int Capacity => _items.Length;

    /// <summary>The number of items in the ring; exact on either side's thread, a snapshot from any other.</summary>
    public int Count
    {
        get
        {
            // Acquire both; read Head first so that, with both only growing, the difference is never negative.
            long head = Volatile.Read(ref _cursors.Head);
            long tail = Volatile.Read(ref _cursors.Tail);
            return (int)Math.Clamp(tail - head, 0, _items.Length);
        }
    }

    /// <summary>Producer: the index the next enqueued item will have (the number of items enqueued so far).</summary>
    public long ProducerPosition => _cursors.Tail;

    /// <summary>Consumer: the index of the next item to dequeue (the number of items dequeued so far).</summary>
    public long ConsumerPosition => _cursors.Head;

    /// <summary>Producer: true when the ring has no free slot.</summary>
    public bool IsFull
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            long tail = _cursors.Tail;
            return tail - _cursors.CachedHead >= _items.Length && !RefreshHead(tail);
        }
    }

    /// <summary>Producer: true when the consumer has dequeued (or advanced past) every item enqueued so far.</summary>
    public bool IsDrained
    {
        get
        {
            // Acquire: pairs with the consumer's release store of Head, so whatever the consumer did with the items
            // before advancing (for example writing guest memory) is visible to the producer once this returns true.
            long head = Volatile.Read(ref _cursors.Head);
            _cursors.CachedHead = head;
            return head == _cursors.Tail;
        }
    }

    /// <summary>Consumer: true when there is no item to dequeue.</summary>
    public bool IsEmpty
    {
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        get
        {
            long head = _cursors.Head;
            return head == _cursors.CachedTail && !RefreshTail(head);
        }
    }

    /// <summary>Producer: the slot index (0 to capacity - 1) of ring position <paramref name="position"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int SlotOf(long position) => (int)(position & _mask);

    /// <summary>The indices, for the layout test.</summary>
    internal ref SpscCursors Cursors => ref _cursors;

    /// <summary>Producer: enqueues <paramref name="item"/> unless the ring is full.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryEnqueue(in T item)
    {
        // The producer owns Tail: a plain read returns its own last write.
        long tail = _cursors.Tail;
        if (tail - _cursors.CachedHead >= _items.Length && !RefreshHead(tail))
        {
            return false;
        }

        Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_items), (nint)(tail & _mask)) = item;

        // Release: the item's bytes must be visible before the consumer can see the new Tail and read the slot.
        Volatile.Write(ref _cursors.Tail, tail + 1);
        _consumerParker?.WakeIfParked();
        return true;
    }

    /// <summary>Consumer: dequeues the oldest item unless the ring is empty.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryDequeue(out T item)
    {
        if (!TryPeek(out item))
        {
            return false;
        }

        Advance();
        return true;
    }

    /// <summary>
    /// Consumer: reads the oldest item without removing it; its slot stays the consumer's until <see cref="Advance"/>.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public bool TryPeek(out T item)
    {
        // The consumer owns Head: a plain read returns its own last write.
        long head = _cursors.Head;
        if (head == _cursors.CachedTail && !RefreshTail(head))
        {
            item = default;
            return false;
        }

        item = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_items), (nint)(head & _mask));
        return true;
    }

    /// <summary>Consumer: removes the item last returned by <see cref="TryPeek"/>, handing its slot back to the producer.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Advance()
    {
        long head = _cursors.Head;
        if (head >= _cursors.CachedTail)
        {
            ThrowAdvanceEmpty();
        }

        // Release: everything the consumer did with the item (read the slot, or work done in place after a peek) must
        // happen before the producer can see the new Head and reuse the slot.
        Volatile.Write(ref _cursors.Head, head + 1);
        if (_producerParker is ThreadParker parker && parker.IsParkedAfterPublish())
        {
            WakeProducer(parker, head + 1);
        }
    }

    /// <summary>
    /// Producer: from now on, a parked producer is woken only by the advance that takes Head to exactly
    /// <paramref name="position"/> (0: by every advance, the default; <see cref="long.MaxValue"/>: by none, for a producer
    /// that is not waiting on this ring). Call it before waiting on the producer's parker, with a position above the
    /// current Head whose arrival makes the wait's condition true. <see cref="Enqueue"/> relies on the default: set 0
    /// again before using it after setting anything else.
    /// </summary>
    public void WakeProducerAt(long position)
    {
        // Release: the position is published before the parker's Exchange raises the flag (which alone would order it);
        // Volatile keeps the JIT from sinking the store past the wait.
        Volatile.Write(ref _cursors.ProducerWakeAt, position);
    }

    /// <summary>Producer: true when at most <paramref name="count"/> items are queued (rereads Head).</summary>
    public bool HasAtMost(int count)
    {
        // Acquire: as in RefreshHead, the consumer is done with every slot below the Head we read.
        long head = Volatile.Read(ref _cursors.Head);
        _cursors.CachedHead = head;
        return _cursors.Tail - head <= count;
    }

    /// <summary>
    /// Producer: enqueues, waiting on the producer's parker while the ring is full. False if cancelled first. A cancellable
    /// token costs a registration (an allocation) each time the call has to wait; the engines use their own conditions.
    /// </summary>
    public bool Enqueue(in T item, CancellationToken cancellationToken = default)
    {
        while (!TryEnqueue(item))
        {
            if (!WaitForRoom(cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Consumer: dequeues, waiting on the consumer's parker while the ring is empty. False if cancelled first. A cancellable
    /// token costs a registration (an allocation) each time the call has to wait.
    /// </summary>
    public bool Dequeue(out T item, CancellationToken cancellationToken = default)
    {
        while (!TryDequeue(out item))
        {
            if (!WaitForItem(cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>Producer: rereads Head when the cached copy says "full". False if the ring really is full.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RefreshHead(long tail)
    {
        // Acquire: the consumer's read of the slot we may now overwrite happened before it released this Head.
        long head = Volatile.Read(ref _cursors.Head);
        _cursors.CachedHead = head;
        return tail - head < _items.Length;
    }

    /// <summary>Consumer: rereads Tail when the cached copy says "empty". False if the ring really is empty.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool RefreshTail(long head)
    {
        // Acquire: the producer wrote the slots below this Tail before it released it, so reading them is safe.
        long tail = Volatile.Read(ref _cursors.Tail);
        _cursors.CachedTail = tail;
        return tail != head;
    }

    /// <summary>Consumer: the producer is parked; wakes it if <paramref name="head"/> is the position it asked for.</summary>
    [MethodImpl(MethodImplOptions.NoInlining)]
    private void WakeProducer(ThreadParker parker, long head)
    {
        // Acquire: ordered after the acquire read of the parked flag in IsParkedAfterPublish, so this is the position
        // the producer wrote before it raised the flag (or a newer one, from a later wait that has its own handshake).
        long position = Volatile.Read(ref _cursors.ProducerWakeAt);
        if (head == position || position == 0)
        {
            parker.Unpark();
        }
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WaitForRoom(CancellationToken cancellationToken)
    {
        ThreadParker parker = _producerParker ?? throw new InvalidOperationException("this ring has no producer parker: its producer cannot wait");
        var condition = new RoomOrCancelled(this, cancellationToken);
        using CancellationTokenRegistration registration = RegisterUnpark(parker, cancellationToken);
        parker.Wait(ref condition);
        return !cancellationToken.IsCancellationRequested;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private bool WaitForItem(CancellationToken cancellationToken)
    {
        ThreadParker parker = _consumerParker ?? throw new InvalidOperationException("this ring has no consumer parker: its consumer cannot wait");
        var condition = new ItemOrCancelled(this, cancellationToken);
        using CancellationTokenRegistration registration = RegisterUnpark(parker, cancellationToken);
        parker.Wait(ref condition);
        return !cancellationToken.IsCancellationRequested;
    }

    private static CancellationTokenRegistration RegisterUnpark(ThreadParker parker, CancellationToken cancellationToken)
        => cancellationToken.CanBeCanceled
            ? cancellationToken.UnsafeRegister(static state => ((ThreadParker)state!).Unpark(), parker)
            : default;

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void ThrowAdvanceEmpty()
        => throw new InvalidOperationException("Advance called without an item: TryPeek must have returned one first");

    private readonly struct RoomOrCancelled(SpscRing<T> ring, CancellationToken cancellationToken) : IWaitCondition
    {
        public bool IsSatisfied() => !ring.IsFull || cancellationToken.IsCancellationRequested;
    }

    private readonly struct ItemOrCancelled(SpscRing<T> ring, CancellationToken cancellationToken) : IWaitCondition
    {
        public bool IsSatisfied() => !ring.IsEmpty || cancellationToken.IsCancellationRequested;
    }
}
