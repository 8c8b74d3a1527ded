using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Threading;

/// <summary>
/// <see cref="SpscRing{T}.WakeProducerAt"/>: a parked producer is woken by the advance that reaches its position, by no
/// other one, and never misses it.
/// </summary>
public sealed class SpscRingWakePositionTests : EngineTestBase
{
    [Fact]
    public void AParkedProducerIsWokenOnlyWhenHeadReachesItsPosition()
    {
        Hang.Guard(20, () =>
        {
            var producerParker = new ThreadParker(spinCount: 0);
            var ring = new SpscRing<int>(8, producerParker: producerParker);
            for (int i = 0; i < 8; i++)
            {
                Assert.True(ring.TryEnqueue(i));
            }

            var producer = new Thread(() =>
            {
                // Wait until at most 4 items are queued: Head must reach Tail - 4.
                ring.WakeProducerAt(ring.ProducerPosition - 4);
                var condition = new AtMostInt(ring, 4);
                producerParker.Wait(ref condition);
                ring.WakeProducerAt(long.MaxValue);
            })
            { IsBackground = true };
            producer.Start();
            Assert.True(Hang.WaitUntil(() => producerParker.IsParked), "the producer never parked");

            // Three advances: the producer is still parked and nobody woke it.
            for (int i = 0; i < 3; i++)
            {
                Assert.True(ring.TryDequeue(out int item));
                Assert.Equal(i, item);
            }

            Thread.Sleep(50);
            Assert.True(producerParker.IsParked);
            Assert.Equal(0, producerParker.WakeCount);

            // The fourth reaches the position: one wake-up, and the producer returns.
            Assert.True(ring.TryDequeue(out _));
            Assert.True(producer.Join(TimeSpan.FromSeconds(5)), "the producer was not woken at its position");
            Assert.Equal(1, producerParker.WakeCount);
            Assert.Equal(1, producerParker.ParkCount);

            // After the wait the producer asked for no wake-ups: further advances leave its parker alone.
            Assert.True(ring.TryDequeue(out _));
            Assert.Equal(1, producerParker.WakeCount);
        });
    }

    [Fact]
    public void TheDefaultWakesOnEveryAdvance()
    {
        var producerParker = new ThreadParker();
        var ring = new SpscRing<int>(2, producerParker: producerParker);
        Assert.True(ring.TryEnqueue(1));

        // Pretend the producer is parked: an advance with the default position (0) must wake it.
        producerParker.State.Parked = 1;
        Assert.True(ring.TryDequeue(out _));
        Assert.Equal(1, producerParker.WakeCount);
    }

    [Theory]
    [InlineData(2, 1)]
    [InlineData(4, 2)]
    [InlineData(16, 8)]
    [InlineData(16, 0)]
    public void NoWakeUpIsLostWhenTheProducerWaitsForALowWaterMark(int capacity, int level)
    {
        // Both sides block at once (spin 0) on every wait, the path where a lost wake-up would hang: the producer waits
        // for the ring to drain to the level each time it finds it full; the consumer waits for any item.
        Hang.Guard(60, () =>
        {
            const long Count = 300_000;
            var consumerParker = new ThreadParker(spinCount: 0);
            var producerParker = new ThreadParker(spinCount: 0);
            var ring = new SpscRing<long>(capacity, consumerParker, producerParker);
            ring.WakeProducerAt(long.MaxValue);
            Exception? producerFailure = null;
            long waits = 0;
            var producer = new Thread(() =>
            {
                try
                {
                    for (long i = 0; i < Count; i++)
                    {
                        while (!ring.TryEnqueue(i))
                        {
                            waits++;
                            ring.WakeProducerAt(ring.ProducerPosition - level);
                            var condition = new AtMost(ring, level);
                            producerParker.Wait(ref condition);
                            ring.WakeProducerAt(long.MaxValue);
                        }
                    }
                }
                catch (Exception e)
                {
                    producerFailure = e;
                }
            })
            { IsBackground = true };
            producer.Start();

            var random = new Random(capacity + level);
            for (long expected = 0; expected < Count; expected++)
            {
                if (random.Next(20_000) == 0)
                {
                    Thread.Sleep(1);
                }

                Assert.True(ring.Dequeue(out long item));
                Assert.Equal(expected, item);
            }

            Assert.True(producer.Join(TimeSpan.FromSeconds(10)));
            Assert.Null(producerFailure);

            // At most one wake-up per wait (the advance that reached the mark), not one per item. (Joined: waits is final.)
            Assert.InRange(producerParker.WakeCount, 0, waits);
            Assert.True(waits > 0, "the producer never found the ring full: the test did not test the wait");
        });
    }

    private readonly struct AtMost(SpscRing<long> ring, int level) : IWaitCondition
    {
        public bool IsSatisfied() => ring.HasAtMost(level);
    }

    private readonly struct AtMostInt(SpscRing<int> ring, int level) : IWaitCondition
    {
        public bool IsSatisfied() => ring.HasAtMost(level);
    }
}
