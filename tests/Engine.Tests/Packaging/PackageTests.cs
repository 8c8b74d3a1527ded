using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Xunit;

namespace Engine.Tests.Packaging;

/// <summary>What a .NET user gets from <c>dotnet cake --target=Pack</c>: the library package and the <c>engine</c> tool package.</summary>
public sealed class PackageTests(PackedPackages packages) : IClassFixture<PackedPackages>
{
    [Fact]
    public void TheLibraryPackageHasADistinctIdALicenseAReadmeTagsAndItsRepository()
    {
        XElement metadata = Metadata(PackedPackages.LibraryId);
        Assert.Equal(PackedPackages.LibraryId, Value(metadata, "id"));
        XElement license = Element(metadata, "license");
        Assert.Equal("expression", license.Attribute("type")?.Value);
        Assert.Equal("MIT", license.Value);
        Assert.Equal("README.md", Value(metadata, "readme"));
        Assert.Contains("README.md", packages.Entries(PackedPackages.LibraryId));
        string readme = System.Text.Encoding.UTF8.GetString(packages.Read(PackedPackages.LibraryId, "README.md"));
        Assert.Contains("VmPageEngine", readme);
        Assert.Contains("qemu", Value(metadata, "tags").Split(' '));
        Assert.False(string.IsNullOrWhiteSpace(Value(metadata, "description")));
        Assert.NotEqual(Value(metadata, "id"), Value(metadata, "authors"));

        // SourceLink's repository metadata: the commit the package was built from (the url too, when the clone has a remote).
        XElement repository = Element(metadata, "repository");
        Assert.Equal("git", repository.Attribute("type")?.Value);
        Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value ?? "");
    }

    [Fact]
    public void TheLibraryPackageDeclaresOnlyDependenciesTheLibraryUses()
    {
        string[] declared = Metadata(PackedPackages.LibraryId).Descendants().Where(e => e.Name.LocalName == "dependency")
            .Select(e => e.Attribute("id")!.Value).Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(["SharpZipLib", "System.IO.Hashing", "ZstdNet"], declared);

        // The compiler writes an assembly reference only for an assembly the code uses: each declared package's assembly must
        // be among them (CommunityToolkit.HighPerformance was declared and never used).
        string[] entries = packages.Entries(PackedPackages.LibraryId);
        string dll = Assert.Single(entries, e => e.EndsWith("/Engine.Core.dll", StringComparison.Ordinal));
        Assert.StartsWith("lib/net10.0/", dll);
        using var pe = new PEReader(new MemoryStream(packages.Read(PackedPackages.LibraryId, dll)));
        MetadataReader reader = pe.GetMetadataReader();
        string[] referenced = reader.AssemblyReferences.Select(h => reader.GetString(reader.GetAssemblyReference(h).Name)).ToArray();
        var assemblyOf = new Dictionary<string, string>
        {
            ["SharpZipLib"] = "ICSharpCode.SharpZipLib",
            ["System.IO.Hashing"] = "System.IO.Hashing",
            ["ZstdNet"] = "ZstdNet",
        };
        foreach (string package in declared)
        {
            Assert.Contains(assemblyOf[package], referenced);
        }

        Assert.DoesNotContain(referenced, r => r.StartsWith("CommunityToolkit", StringComparison.Ordinal));

        // The synthetic guest (content model, writer threads) is the tool's and the tests', not the library's.
        Assert.DoesNotContain(entries, e => e.Contains("Synthetic", StringComparison.Ordinal));
        string[] types = reader.TypeDefinitions.Select(h => reader.GetString(reader.GetTypeDefinition(h).Name)).ToArray();
        Assert.DoesNotContain(types, t => t.StartsWith("Synthetic", StringComparison.Ordinal) || t.StartsWith("GuestWriter", StringComparison.Ordinal));

        // Nor are the tools (inspect, extract, transcode, relay): Engine.Tools rides in the tool package only.
        Assert.DoesNotContain(entries, e => e.Contains("Engine.Tools", StringComparison.Ordinal));
        Assert.DoesNotContain(types, t => t is "Transcoder" or "MigrationRelay" or "StreamInspector" or "RamExtractor");
        Assert.Contains("lib/net10.0/Engine.Core.xml", entries);
    }

    [Fact]
    public void TheLibraryHasASymbolsPackageWithItsPdb()
    {
        Assert.Contains("lib/net10.0/Engine.Core.pdb", packages.Entries(PackedPackages.LibraryId, ".snupkg"));
        Assert.DoesNotContain(packages.Entries(PackedPackages.LibraryId), e => e.EndsWith(".pdb", StringComparison.Ordinal));
    }

    [Fact]
    public void TheToolPackageIsADotnetToolNamedEngineThatCarriesLibzstd()
    {
        XElement metadata = Metadata(PackedPackages.ToolId);
        Assert.Equal(PackedPackages.ToolId, Value(metadata, "id"));
        Assert.Equal("MIT", Value(metadata, "license"));
        Assert.Equal("README.md", Value(metadata, "readme"));
        Assert.Contains(metadata.Descendants(), e => e.Name.LocalName == "packageType" && e.Attribute("name")?.Value == "DotnetTool");
        Assert.DoesNotContain(metadata.Descendants(), e => e.Name.LocalName == "dependency");

        string[] entries = packages.Entries(PackedPackages.ToolId);
        Assert.Contains("README.md", entries);
        string settings = System.Text.Encoding.UTF8.GetString(packages.Read(PackedPackages.ToolId, "tools/net10.0/any/DotnetToolSettings.xml"));
        XElement command = XElement.Parse(settings.TrimStart('\uFEFF')).Descendants().Single(e => e.Name.LocalName == "Command");
        Assert.Equal("engine", command.Attribute("Name")?.Value);
        Assert.Equal("engine.dll", command.Attribute("EntryPoint")?.Value);
        Assert.Contains("tools/net10.0/any/runtimes/linux-x64/native/libzstd.so", entries);
        Assert.Contains("tools/net10.0/any/Engine.Core.dll", entries);
        Assert.Contains("tools/net10.0/any/Engine.Synthetic.dll", entries);
        Assert.Contains("tools/net10.0/any/Engine.Tools.dll", entries);
    }

    [Fact]
    public void TheToolPackageInstallsIntoAToolPathAndRunsEngineInfo()
    {
        string version = Value(Metadata(PackedPackages.ToolId), "version");
        DirectoryInfo work = Directory.CreateTempSubdirectory("engine-tool-");
        try
        {
            // Only the packed folder as a source, and a fresh package cache: the test installs exactly what was just packed,
            // not a cached package of the same version, and leaves the user's cache alone.
            string config = Path.Combine(work.FullName, "nuget.config");
            File.WriteAllText(config, $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources>
                    <clear />
                    <add key="packed" value="{packages.Folder}" />
                  </packageSources>
                </configuration>
                """);
            string toolPath = Path.Combine(work.FullName, "tools");
            var environment = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work.FullName, "cache") };
            PackedPackages.Run(TimeSpan.FromMinutes(2), work.FullName, environment, "dotnet",
                "tool", "install", "--tool-path", toolPath, "--configfile", config, "--add-source", packages.Folder, PackedPackages.ToolId, "--version", version);

            string engine = Path.Combine(toolPath, OperatingSystem.IsWindows() ? "engine.exe" : "engine");
            Assert.True(File.Exists(engine), $"no {engine} after the install");
            string output = PackedPackages.Run(TimeSpan.FromSeconds(60), work.FullName, environment, engine, "info");
            Assert.Matches(@"engine\s+" + System.Text.RegularExpressions.Regex.Escape(version), output);
            Assert.Matches(@"libzstd\s+1\.\d+\.\d+ \(.*" + System.Text.RegularExpressions.Regex.Escape(toolPath), output);
            Assert.Matches(@"zlib\s+1\.\d+", output);
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private XElement Metadata(string id) => packages.Nuspec(id).Elements().Single(e => e.Name.LocalName == "metadata");

    private static XElement Element(XElement metadata, string name)
        => metadata.Elements().SingleOrDefault(e => e.Name.LocalName == name) ?? throw new Xunit.Sdk.XunitException($"the nuspec has no <{name}>");

    private static string Value(XElement metadata, string name) => Element(metadata, name).Value;
}
