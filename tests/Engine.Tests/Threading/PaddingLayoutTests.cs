using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Threading;

/// <summary>The padding that keeps the producer's and the consumer's fields apart is where the design says it is.</summary>
public sealed class PaddingLayoutTests
{
    [Fact]
    public void CursorsSitOnTheirOwnCacheLinePairs()
    {
        Assert.Equal(128, CacheLine.PaddingSize);
        Assert.Equal(128, (int)Marshal.OffsetOf<SpscCursors>(nameof(SpscCursors.Tail)));
        Assert.Equal(136, (int)Marshal.OffsetOf<SpscCursors>(nameof(SpscCursors.CachedHead)));
        Assert.Equal(144, (int)Marshal.OffsetOf<SpscCursors>(nameof(SpscCursors.ProducerWakeAt)));
        Assert.Equal(256, (int)Marshal.OffsetOf<SpscCursors>(nameof(SpscCursors.Head)));
        Assert.Equal(264, (int)Marshal.OffsetOf<SpscCursors>(nameof(SpscCursors.CachedTail)));
        Assert.Equal(384, Unsafe.SizeOf<SpscCursors>());
    }

    [Fact]
    public void InARingTheProducerAndConsumerIndicesAreAPaddingApartAndPaddedFromTheRest()
    {
        var ring = new SpscRing<long>(8);
        ref SpscCursors cursors = ref ring.Cursors;

        // Measured on the live object, so the runtime's field layout of the class cannot undo the struct's padding.
        Assert.Equal(CacheLine.PaddingSize, (int)Unsafe.ByteOffset(ref cursors.Tail, ref cursors.Head));
        Assert.Equal(CacheLine.PaddingSize, (int)Unsafe.ByteOffset(ref Unsafe.As<SpscCursors, byte>(ref cursors), ref Unsafe.As<long, byte>(ref cursors.Tail)));
        Assert.True(Unsafe.SizeOf<SpscCursors>() - (int)Unsafe.ByteOffset(ref Unsafe.As<SpscCursors, byte>(ref cursors), ref Unsafe.As<long, byte>(ref cursors.Head)) >= CacheLine.PaddingSize);
    }

    [Fact]
    public void TheParkedFlagHasAPaddingOnEachSide()
    {
        Assert.Equal(CacheLine.PaddingSize, (int)Marshal.OffsetOf<ParkState>(nameof(ParkState.Parked)));
        Assert.Equal(2 * CacheLine.PaddingSize, Unsafe.SizeOf<ParkState>());

        var parker = new ThreadParker();
        ref ParkState state = ref parker.State;
        Assert.Equal(CacheLine.PaddingSize, (int)Unsafe.ByteOffset(ref Unsafe.As<ParkState, byte>(ref state), ref Unsafe.As<int, byte>(ref state.Parked)));
    }
}
