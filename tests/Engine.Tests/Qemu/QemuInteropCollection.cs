using Xunit;

namespace Engine.Tests.Qemu;

/// <summary>
/// The tests that need real QEMU and the streams it wrote. They run alone, after the parallel collections: QEMU under TCG
/// loads both cores, and the timing-sensitive tests elsewhere should not compete with it. The fixture makes the guest and
/// the streams once for all of them.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class QemuInteropCollection : ICollectionFixture<QemuInterop>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "QEMU interop";
}
