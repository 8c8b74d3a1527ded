using Engine.Threading;
using Xunit;

namespace Engine.Tests.Support;

/// <summary>Base of the tests in <see cref="EngineThreadsCollection"/>: after each test, no engine worker thread may be running.</summary>
[Collection(EngineThreadsCollection.Name)]
public abstract class EngineTestBase : IDisposable
{
    /// <summary>Asserts that every engine thread has ended (waiting briefly for threads that are on their way out).</summary>
    public void Dispose()
    {
        bool allEnded = Hang.WaitUntil(() => WorkerThreads.LiveCount == 0, seconds: 10);
        Assert.True(allEnded, $"{WorkerThreads.LiveCount} engine worker threads are still running after the test");
    }
}
