using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Threading;

/// <summary>The ring between two real threads: every item arrives once, whole, in order, through wrap-around, full and empty rings, and parking on both sides.</summary>
public sealed class SpscRingStressTests : EngineTestBase
{
    [Theory]
    [InlineData(1, 100_000, ThreadParker.DefaultSpinCount)]
    [InlineData(2, 200_000, ThreadParker.DefaultSpinCount)]
    [InlineData(8, 500_000, ThreadParker.DefaultSpinCount)]
    [InlineData(1024, 2_000_000, ThreadParker.DefaultSpinCount)]
    [InlineData(2, 50_000, 0)]
    [InlineData(64, 200_000, 0)]
    public void EveryItemArrivesOnceWholeAndInOrder(int capacity, int count, int spinCount)
    {
        Hang.Guard(60, () =>
        {
            // spinCount 0: every wait goes straight to the event, the path where a lost wake-up would show.
            var consumerParker = new ThreadParker(spinCount);
            var producerParker = new ThreadParker(spinCount);
            var ring = new SpscRing<Item>(capacity, consumerParker, producerParker);
            Exception? producerFailure = null;
            var producer = new Thread(() =>
            {
                try
                {
                    var random = new Random(capacity);
                    for (long i = 0; i < count; i++)
                    {
                        // Now and then the producer stalls, so the consumer drains the ring and parks; twice for long
                        // enough that it must park even on a loaded machine.
                        if (i == count / 3 || i == 2 * count / 3)
                        {
                            Thread.Sleep(50);
                        }
                        else if (random.Next(count / 20) == 0)
                        {
                            Thread.Sleep(1);
                        }

                        Assert.True(ring.Enqueue(new Item(i)));
                    }
                }
                catch (Exception e)
                {
                    producerFailure = e;
                }
            })
            { Name = "test-ring-producer", IsBackground = true };
            producer.Start();

            var random = new Random(-capacity);
            for (long expected = 0; expected < count; expected++)
            {
                // Now and then the consumer stalls, so the producer fills the ring and parks.
                if (expected == count / 2 || expected == 5 * count / 6)
                {
                    Thread.Sleep(50);
                }
                else if (random.Next(count / 20) == 0)
                {
                    Thread.Sleep(1);
                }

                Assert.True(ring.Dequeue(out Item item));
                if (item.A != expected || item.B != ~expected || item.C != expected * 31)
                {
                    Assert.Fail($"item {expected} arrived as ({item.A}, {item.B}, {item.C})");
                }
            }

            producer.Join();
            Assert.Null(producerFailure);
            Assert.True(ring.IsEmpty);

            // Both blocking paths were taken, and every wake-up went to a parked thread or was a late, harmless one.
            Assert.True(consumerParker.ParkCount > 0, "the consumer never parked");
            Assert.True(producerParker.ParkCount > 0, "the producer never parked");
        });
    }

    [Fact]
    public void CancellingAWaitReturnsFalse()
    {
        Hang.Guard(10, () =>
        {
            var ring = new SpscRing<int>(1, new ThreadParker(), new ThreadParker());
            using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            {
                Assert.False(ring.Dequeue(out _, cancel.Token));
            }

            Assert.True(ring.TryEnqueue(1));
            using (var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(50)))
            {
                Assert.False(ring.Enqueue(2, cancel.Token));
            }
        });
    }

    private readonly struct Item(long value)
    {
        public long A { get; } = value;

        public long B { get; } = ~value;

        public long C { get; } = value * 31;
    }
}
