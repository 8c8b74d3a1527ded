using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Xunit;
using Engine.Memory;
using Engine.Migration;
using Engine.Tools;

namespace Engine.Tests.Packaging;

/// <summary>
/// The library's public surface: what a host may embed (docs/EMBEDDING.md, "What is public"). Everything else is internal,
/// reachable only by Engine's own programs and tests (InternalsVisibleTo), so it can change without breaking a host.
/// </summary>
public sealed partial class PublicSurfaceTests
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
    [InlineData("Engine.Transport.TcpTransport")]
    [InlineData("Engine.Wire.RamBlockInfo")]
    [InlineData("Engine.Wire.MigrationStreamReader")]
    [InlineData("Engine.Wire.MigrationStreamWriter")]
    [InlineData("Engine.Migration.MigrationStatistics")]
    public void PlumbingIsInternal(string name)
    {
        Type? type = s_library.GetType(name);
        Assert.NotNull(type);
        Assert.False(type.IsVisible, $"{name} is public: it is plumbing a host does not need");
    }

    /// <summary>The tools (inspect, extract, transcode, the relay) are Engine.Tools, which only the tool package carries.</summary>
    [Fact]
    public void TheToolsAreNotInTheLibrary()
    {
        Assert.DoesNotContain(s_library.GetTypes(), t => t.Namespace is "Engine.Tools" or "Engine.Relay");
        Assert.Equal("Engine.Tools", typeof(Transcoder).Assembly.GetName().Name);
    }

    /// <summary>What the tools build on stays internal in Engine.Tools too: the reader's sink of pages and its loader.</summary>
    [Theory]
    [InlineData("Engine.Tools.IRamSink")]
    [InlineData("Engine.Tools.RamStreamLoader")]
    [InlineData("Engine.Tools.RamImageSink")]
    [InlineData("Engine.Relay.MultifdOutputTarget")]
    public void TheToolsPlumbingIsInternal(string name)
    {
        Type? type = typeof(Transcoder).Assembly.GetType(name);
        Assert.NotNull(type);
        Assert.False(type.IsVisible, $"{name} is public in Engine.Tools: the engine command does not call it");
    }

    /// <summary>
    /// The engine command (assembly <c>engine</c>) uses only what a host may (issue 17; docs/ARCHITECTURE.md, "What the CLI
    /// uses that a host may not"): no assembly it builds on grants it InternalsVisibleTo. The library's friends are read from
    /// src/Engine/Engine.csproj and its sources' <c>[assembly: InternalsVisibleTo]</c>, and from the built assemblies.
    /// </summary>
    [Fact]
    public void TheEngineCommandIsNoFriend()
    {
        string root = Architecture.SourceFile.FindRepositoryRoot();
        string library = Path.Combine(root, "src", "Engine");
        var granted = new List<string>();
        foreach (XElement item in XDocument.Load(Path.Combine(library, "Engine.csproj")).Descendants("InternalsVisibleTo"))
        {
            granted.Add($"Engine.csproj: {item.Attribute("Include")?.Value}");
        }

        foreach (string path in Directory.EnumerateFiles(library, "*.cs", SearchOption.AllDirectories))
        {
            string relative = Path.GetRelativePath(library, path).Replace('\\', '/');
            if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
            {
                continue; // the build's own AssemblyInfo.cs: the built assembly is read below
            }

            foreach (Match m in AssemblyInternalsVisibleTo().Matches(File.ReadAllText(path)))
            {
                granted.Add($"{Path.GetRelativePath(root, path)}: {m.Groups[1].Value}");
            }
        }

        foreach (Assembly assembly in new[] { s_library, typeof(Transcoder).Assembly, typeof(SyntheticGuest).Assembly })
        {
            foreach (InternalsVisibleToAttribute a in assembly.GetCustomAttributes<InternalsVisibleToAttribute>())
            {
                granted.Add($"{assembly.GetName().Name}.dll: {a.AssemblyName.Split(',')[0].Trim()}");
            }
        }

        // The reading finds the grants there are (Engine.Tools is the library's friend in the project and the assembly).
        Assert.Contains("Engine.csproj: Engine.Tools", granted);
        Assert.Contains("Engine.Core.dll: Engine.Tools", granted);
        string[] toEngine = granted.Where(g => g[(g.LastIndexOf(": ", StringComparison.Ordinal) + 2)..].Equals("engine", StringComparison.OrdinalIgnoreCase)).ToArray();
        Assert.True(toEngine.Length == 0, $"the engine command is granted internals: {string.Join("; ", toEngine)}");
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

    [GeneratedRegex(@"\[\s*assembly\s*:\s*(?:System\.Runtime\.CompilerServices\.)?InternalsVisibleTo(?:Attribute)?\s*\(\s*""([^"",]*)")]
    private static partial Regex AssemblyInternalsVisibleTo();
}
