using Xunit;

namespace Engine.Tests.Wire.Support;

/// <summary>
/// A fact that needs the streams real QEMU wrote (tests/interop/make-streams.sh, into tests/interop/work or
/// $INTEROP_WORK); skipped, with the reason, when they are not there.
/// </summary>
internal sealed class InteropFactAttribute : FactAttribute
{
    public InteropFactAttribute()
    {
        if (InteropStreams.Directory is null)
        {
            Skip = "no QEMU-made streams: run tests/interop/make-streams.sh (needs qemu-system-x86) or set INTEROP_WORK";
        }
    }
}
