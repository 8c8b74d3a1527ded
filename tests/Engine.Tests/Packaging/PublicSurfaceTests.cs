using System.Reflection;
using Xunit;
using Engine.Memory;
using Engine.Migration;
using Engine.Tools;

namespace Engine.Tests.Packaging;

/// <summary>
/// The library's public surface: what a host may embed (docs/EMBEDDING.md, "What is public"). Everything else is internal,
/// reachable only by Engine's own programs and tests (InternalsVisibleTo), so it can change without breaking a host.
/// </summary>
public sealed class PublicSurfaceTests
{
    /// <summary>The most public types the packed library may have (issue 17); nested public types count.</summary>
    private const int MaxPublicTypes = 45;

    private static readonly Assembly s_library = typeof(EngineException).Assembly;

    [Fact]
    public void TheLibraryHasAtMost45PublicTypes()
    {
        string[] exported = Exported();

        // The message lists every public type, so a change that adds one sees which, and what else is there to trade.
        Assert.True(
            exported.Length <= MaxPublicTypes,
            $"Engine.Core exports {exported.Length} types, more than {MaxPublicTypes}: make the new ones internal, or update "
            + $"docs/EMBEDDING.md's table and this limit on purpose.{Environment.NewLine}{string.Join(Environment.NewLine, exported)}");
    }

    [Theory]
    [InlineData("Engine.Wire.RamSaveFlags")]
    [InlineData("Engine.Memory.ZeroPage")]
    [InlineData("Engine.Memory.PageSizes")]
    [InlineData("Engine.Codecs.PageDecoder")]
    [InlineData("Engine.Transport.MigrationTlsStream")]
    [InlineData("Engine.Tools.IRamSink")]
    [InlineData("Engine.Tools.RamStreamLoader")]
    [InlineData("Engine.Tools.RamImageSink")]
    [InlineData("Engine.Wire.MigrationStreamReader")]
    [InlineData("Engine.Wire.MigrationStreamWriter")]
    [InlineData("Engine.Migration.MigrationStatistics")]
    public void PlumbingIsInternal(string name)
    {
        Type? type = s_library.GetType(name);
        Assert.NotNull(type);
        Assert.False(type.IsVisible, $"{name} is public: it is plumbing a host does not need");
    }

    [Fact]
    public void TheFuzzHarnessIsNotInTheLibrary()
    {
        Assert.DoesNotContain(s_library.GetTypes(), t => t.Name == "MultifdPacketProbe");
    }

    [Theory]
    [InlineData(typeof(EngineException))]
    [InlineData(typeof(EngineErrorKind))]
    [InlineData(typeof(EngineParameterException))]
    [InlineData(typeof(Engine.Migration.SourceMigration))]
    [InlineData(typeof(Engine.Migration.DestinationMigration))]
    [InlineData(typeof(Engine.Migration.MigrationParameters))]
    [InlineData(typeof(Engine.Migration.MigrationGuest))]
    [InlineData(typeof(Engine.Migration.DirtyPageLog))]
    [InlineData(typeof(Engine.Migration.IGuestControl))]
    [InlineData(typeof(Engine.Migration.MultifdSource))]
    [InlineData(typeof(Engine.Migration.MultifdDestination))]
    [InlineData(typeof(Engine.Memory.RamBlock))]
    [InlineData(typeof(Engine.Pipeline.CompressionEngine))]
    [InlineData(typeof(Engine.Pipeline.DecompressionEngine))]
    [InlineData(typeof(Engine.Codecs.PageCodecs))]
    [InlineData(typeof(Engine.Transport.TlsOptions))]
    public void WhatAHostEmbedsIsPublic(Type type)
    {
        Assert.True(type.IsPublic, $"{type.FullName} is what a host embeds (docs/EMBEDDING.md): it must stay public");
    }

    /// <summary>
    /// Calls the <c>engine</c> tool makes that a host may make too (issue 17: the tool uses only what a host may;
    /// docs/ARCHITECTURE.md, "What the CLI uses that a host may not"): public members, not a friend's internals.
    /// </summary>
    [Theory]
    [InlineData(typeof(Checkpoint), nameof(Checkpoint.SaveMappedRam))]
    [InlineData(typeof(SourceMigration), nameof(SourceMigration.Query))]
    [InlineData(typeof(MultifdSource), nameof(MultifdSource.Query))]
    public void WhatTheToolCallsIsPublic(Type type, string method)
    {
        Assert.True(type.IsPublic, $"{type.FullName} is not public");
        Assert.Contains(type.GetMethods(BindingFlags.Public | BindingFlags.Static | BindingFlags.Instance), m => m.Name == method);
    }

    private static string[] Exported()
        => s_library.GetExportedTypes().Select(t => t.FullName!).Order(StringComparer.Ordinal).ToArray();
}
