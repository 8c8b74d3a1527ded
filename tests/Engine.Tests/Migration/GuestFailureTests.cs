using Engine.Memory;
using Engine.Migration;
using Xunit;

namespace Engine.Tests.Migration;

public sealed class GuestFailureTests
{
    [Fact(Timeout = 30_000)]
    public async Task AFailedGuestFailsTheMigrationAsAnEngineExceptionThatNamesTheGuestsFailure()
    {
        // Regression: the guest's failure was thrown as an InvalidOperationException inside the migration's error, which a
        // host could not tell from an engine bug, and the peer's reason could be reported in its place.
        var guestFailure = new Exception("vCPU 0 stopped: KVM_RUN returned EFAULT");
        using var control = new FailedControl(guestFailure);
        var block = new RamBlock("pc.ram", 1L << 20);
        using MigrationGuest guest = MigrationGuest.FromBlocks([block], control: control);
        using var output = new MemoryStream();

        EngineException e = await Assert.ThrowsAnyAsync<EngineException>(
            () => Task.Run(() => new SourceMigration(guest, new MigrationParameters()).Run(output)));

        Assert.Equal(EngineErrorKind.Migration, e.Kind);
        Assert.Same(guestFailure, e.InnerException);
        Assert.Contains("the guest failed: vCPU 0 stopped: KVM_RUN returned EFAULT", e.Message, StringComparison.Ordinal);
    }

    /// <summary>A guest's vCPUs that have already failed.</summary>
    private sealed class FailedControl(Exception failure) : IGuestControl, IDisposable
    {
        public Exception? Failure => failure;

        public void Pause()
        {
        }

        public void Resume()
        {
        }

        public void Throttle(double fraction)
        {
        }

        public void Dispose()
        {
        }
    }
}
