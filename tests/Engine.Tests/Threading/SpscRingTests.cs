using Engine.Threading;
using Xunit;

namespace Engine.Tests.Threading;

/// <summary>The ring's contract, on one thread.</summary>
public sealed class SpscRingTests
{
    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(3)]
    [InlineData(6)]
    [InlineData(1000)]
    public void RejectsACapacityThatIsNotAPowerOfTwo(int capacity)
    {
        ArgumentOutOfRangeException e = Assert.Throws<ArgumentOutOfRangeException>(() => new SpscRing<int>(capacity));
        Assert.Contains("power of two", e.Message);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(4)]
    [InlineData(64)]
    public void FillsToCapacityThenRefusesThenDrainsInOrder(int capacity)
    {
        var ring = new SpscRing<int>(capacity);
        Assert.True(ring.IsEmpty);
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(ring.TryEnqueue(i));
        }

        Assert.True(ring.IsFull);
        Assert.False(ring.TryEnqueue(-1));
        Assert.Equal(capacity, ring.Count);
        for (int i = 0; i < capacity; i++)
        {
            Assert.True(ring.TryDequeue(out int item));
            Assert.Equal(i, item);
        }

        Assert.False(ring.TryDequeue(out _));
        Assert.True(ring.IsEmpty);
        Assert.True(ring.IsDrained);
    }

    [Fact]
    public void KeepsFifoOrderAcrossManyWrapArounds()
    {
        var ring = new SpscRing<long>(4);
        var random = new Random(7);
        long next = 0;
        long expected = 0;
        for (int step = 0; step < 100_000; step++)
        {
            // Random bursts of enqueues and dequeues, so the fill level wanders over the whole range.
            if (random.Next(2) == 0)
            {
                while (random.Next(3) != 0 && ring.TryEnqueue(next))
                {
                    next++;
                }
            }
            else
            {
                while (random.Next(3) != 0 && ring.TryDequeue(out long item))
                {
                    Assert.Equal(expected++, item);
                }
            }

            Assert.Equal(next - expected, ring.Count);
        }

        // Thousands of trips around the four slots.
        Assert.True(next > 10_000, $"only {next} items went through");
    }

    [Fact]
    public void PeekLeavesTheItemAndItsSlotUntilAdvance()
    {
        var ring = new SpscRing<int>(2);
        Assert.Throws<InvalidOperationException>(() => ring.Advance());
        ring.TryEnqueue(10);
        ring.TryEnqueue(11);
        Assert.True(ring.TryPeek(out int first));
        Assert.Equal(10, first);

        // The peeked slot is still the consumer's: the ring stays full.
        Assert.True(ring.IsFull);
        Assert.False(ring.IsDrained);
        Assert.Equal(ring.SlotOf(0), ring.SlotOf(ring.ConsumerPosition));
        ring.Advance();
        Assert.False(ring.IsFull);
        Assert.Equal(1, ring.ConsumerPosition);
        Assert.True(ring.TryPeek(out int second));
        Assert.Equal(11, second);
        ring.Advance();
        Assert.True(ring.IsDrained);
        Assert.Throws<InvalidOperationException>(() => ring.Advance());
    }

    [Fact]
    public void BlockingCallsNeedAParkerOnTheirSide()
    {
        var ring = new SpscRing<int>(1);
        ring.TryEnqueue(1);
        Assert.Throws<InvalidOperationException>(() => ring.Enqueue(2));
        ring.TryDequeue(out _);
        Assert.Throws<InvalidOperationException>(() => ring.Dequeue(out _));
    }

    [Fact]
    public void TheBusyPathNeverWakesAnyone()
    {
        // Both sides have parkers, but neither ever parks: not one wake-up (kernel call) may happen.
        var consumer = new ThreadParker();
        var producer = new ThreadParker();
        var ring = new SpscRing<int>(8, consumer, producer);
        for (int i = 0; i < 10_000; i++)
        {
            Assert.True(ring.TryEnqueue(i));
            Assert.True(ring.TryDequeue(out int item));
            Assert.Equal(i, item);
        }

        Assert.Equal(0, consumer.WakeCount);
        Assert.Equal(0, producer.WakeCount);
    }
}
