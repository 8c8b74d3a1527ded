using Engine.Tests.Support;
using Engine.Threading;
using Xunit;

namespace Engine.Tests.Threading;

/// <summary>The wait strategy: no park when the condition holds, park when idle, wake on signal.</summary>
public sealed class ThreadParkerTests : EngineTestBase
{
    [Fact]
    public void ReturnsAtOnceWhenTheConditionHolds()
    {
        var parker = new ThreadParker();
        var condition = new Flag { Box = new StrongBox<int>(1) };
        parker.Wait(ref condition);
        Assert.Equal(0, parker.ParkCount);
        Assert.False(parker.IsParked);
    }

    [Fact]
    public void AnIdleWaiterBlocksAndAWakeAfterPublishingReleasesIt()
    {
        Hang.Guard(10, () =>
        {
            var parker = new ThreadParker();
            var box = new StrongBox<int>(0);
            var waiter = new Thread(() =>
            {
                var condition = new Flag { Box = box };
                parker.Wait(ref condition);
            })
            { IsBackground = true };
            waiter.Start();

            // Idle: after its short spin it must be blocked, not burning CPU.
            Assert.True(Hang.WaitUntil(() => parker.IsParked), "the waiter never parked");
            long parks = parker.ParkCount;
            Thread.Sleep(100);
            Assert.Equal(parks, parker.ParkCount);

            Volatile.Write(ref box.Value, 1);
            parker.WakeIfParked();
            Assert.True(waiter.Join(TimeSpan.FromSeconds(5)), "the waiter was not woken");
            Assert.Equal(1, parker.WakeCount);
        });
    }

    [Fact]
    public void NoWakeUpIsLostUnderAPingPong()
    {
        // Two threads hand a token back and forth 20 000 times, each parking between turns: a lost wake-up hangs.
        Hang.Guard(30, () =>
        {
            var pingParker = new ThreadParker(spinCount: 0);
            var pongParker = new ThreadParker(spinCount: 0);
            var ping = new SpscRing<int>(1, consumerParker: pingParker);
            var pong = new SpscRing<int>(1, consumerParker: pongParker);
            const int Rounds = 20_000;
            var other = new Thread(() =>
            {
                for (int i = 0; i < Rounds; i++)
                {
                    Assert.True(ping.Dequeue(out int value));
                    Assert.True(pong.TryEnqueue(value + 1));
                }
            })
            { IsBackground = true };
            other.Start();
            for (int i = 0; i < Rounds; i++)
            {
                Assert.True(ping.TryEnqueue(i));
                Assert.True(pong.Dequeue(out int value));
                Assert.Equal(i + 1, value);
            }

            other.Join();
        });
    }

    private sealed class StrongBox<T>(T value)
    {
        public T Value = value;
    }

    private struct Flag : IWaitCondition
    {
        public StrongBox<int> Box;

        public readonly bool IsSatisfied() => Volatile.Read(ref Box.Value) != 0;
    }
}
