using System.Text.RegularExpressions;
using Xunit;

namespace Engine.Tests.Architecture;

/// <summary>
/// The library's folders are floors (docs/ARCHITECTURE.md, "Floors"): a file may use the floors below its own, never its
/// own floor's other folders or a floor above. The top two floors, Tools and Relay, are the Engine.Tools project
/// (src/Engine.Tools, not in the library package), which may import any of the library's floors. These tests read every
/// <c>src/Engine/**/*.cs</c> and <c>src/Engine.Tools/**/*.cs</c> as text and name each file and reference that breaks the
/// rule, so an upward import fails the build's tests where it is written.
/// </summary>
public sealed partial class FloorTests
{
    /// <summary>Each folder of src/Engine (the root's own files are "") and its floor, bottom (0) to top.</summary>
    internal static readonly IReadOnlyDictionary<string, int> Floors = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [""] = 0,            // EngineException, EngineErrorKind, EngineParameterException, ThreadCounts
        ["Interop"] = 1,     // P/Invoke, native library resolution
        ["Threading"] = 1,   // SPSC ring, wait strategy, worker threads
        ["Memory"] = 2,      // guest memory, RAM blocks, dirty bitmap, PageSizes, ZeroPage
        ["Codecs"] = 3,      // page codecs and the multifd packet codecs
        ["Pipeline"] = 4,    // CompressionEngine, DecompressionEngine
        ["Diagnostics"] = 5, // the meter, reading the engines' and migrations' counters
        ["Wire"] = 6,        // the stream format: reader, writer, records, mapped-ram, machine type, xbzrle
        ["Transport"] = 6,   // TCP, file, TLS, rate limit
        ["Receive"] = 7,     // ReceiveLoop and its page targets
        ["Multifd"] = 7,     // the multifd format and channels
        ["Migration"] = 8,   // sources, destinations, checkpoint
        ["Tools"] = 9,       // src/Engine.Tools: inspect, extract, transcode, the engine command's listener and connections
        ["Relay"] = 10,      // src/Engine.Tools: MigrationRelay and its helpers
    };

    /// <summary>The floors that are src/Engine.Tools's folders; every other floor is a folder of src/Engine.</summary>
    internal static readonly IReadOnlySet<string> ToolsFloors = new HashSet<string>(StringComparer.Ordinal) { "Tools", "Relay" };

    // Folders whose files are in the root namespace Engine: Interop keeps dotnet/runtime's `Interop` class, which a namespace
    // Engine.Interop would hide from every Engine.* file.
    private static readonly HashSet<string> RootNamespaceFolders = new(StringComparer.Ordinal) { "", "Interop" };

    [Fact]
    public void EveryFolderIsAFloorAndEveryNamespaceFollowsItsFolder()
    {
        var problems = new List<string>();
        foreach (SourceFile file in SourceFile.All())
        {
            if (!Floors.ContainsKey(file.Folder))
            {
                problems.Add($"{file.Path}: folder '{file.Folder}' has no floor; give it one in {nameof(FloorTests)}.{nameof(Floors)} and docs/ARCHITECTURE.md");
                continue;
            }

            string expected = RootNamespaceFolders.Contains(file.Folder) ? "Engine" : "Engine." + file.Folder;
            if (file.Namespace != expected)
            {
                problems.Add($"{file.Path}: namespace {file.Namespace}, expected {expected} (namespaces follow folders)");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    [Fact]
    public void TheToolsFloorsAreEngineToolsAndTheRestTheLibrary()
    {
        var problems = new List<string>();
        foreach (SourceFile file in SourceFile.All())
        {
            string expected = ToolsFloors.Contains(file.Folder) ? "src/Engine.Tools" : "src/Engine";
            if (file.Project != expected)
            {
                problems.Add($"{file.Path}: folder '{file.Folder}' belongs in {expected}");
            }
        }

        Assert.True(problems.Count == 0, string.Join(Environment.NewLine, problems));
    }

    /// <summary>
    /// The library cannot import Engine.Tools at all: the compiler sees to it, as Engine.Tools references the library and a
    /// reference back would be a cycle. This says so where the floors are checked, on the built assembly and the project.
    /// </summary>
    [Fact]
    public void TheLibraryDoesNotReferenceEngineTools()
    {
        Assert.Contains(typeof(Engine.Tools.Transcoder).Assembly.GetReferencedAssemblies(), a => a.Name == "Engine.Core");
        Assert.DoesNotContain(typeof(EngineException).Assembly.GetReferencedAssemblies(), a => a.Name == "Engine.Tools");
        string project = File.ReadAllText(Path.Combine(SourceFile.FindRepositoryRoot(), "src", "Engine", "Engine.csproj"));
        Assert.DoesNotContain("Engine.Tools.csproj", project, StringComparison.Ordinal);
    }

    [Fact]
    public void NoFileImportsItsOwnFloorsOtherFoldersOrAFloorAbove()
    {
        List<string> violations = FindUpwardImports(SourceFile.All());
        Assert.True(violations.Count == 0, $"{violations.Count} upward imports:{Environment.NewLine}{string.Join(Environment.NewLine, violations)}");
    }

    [Fact]
    public void TheCheckFindsAUsingAQualifiedNameAndARootNamespaceType()
    {
        // The check itself can fail: a Pipeline file that imports Wire three ways, and an Interop file using a Pipeline type.
        SourceFile[] files =
        [
            SourceFile.FromText("src/Engine/Pipeline/Bad.cs", "Pipeline",
                "using Engine.Wire;\nnamespace Engine.Pipeline;\n// Receive.ReceiveLoop in a comment is fine\nclass Bad { Engine.Migration.MigrationStatus s; object t = Relay.MigrationRelay.X; string u = \"Tools.Transcoder\"; }"),
            SourceFile.FromText("src/Engine/Interop/Bad.cs", "Interop", "namespace Engine;\nclass Bad2 { Engine.Pipeline.PageResult r; }"),
            SourceFile.FromText("src/Engine/Wire/Fine.cs", "Wire", "using Engine.Codecs;\nusing Engine.Memory;\nnamespace Engine.Wire;\nclass Fine { Memory.PageSizes p; }"),
        ];

        List<string> violations = FindUpwardImports(files);

        Assert.Equal(4, violations.Count);
        Assert.Contains(violations, v => v.StartsWith("src/Engine/Pipeline/Bad.cs:1: `using Engine.Wire;`", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("src/Engine/Pipeline/Bad.cs:4: `Engine.Migration.MigrationStatus`", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("src/Engine/Pipeline/Bad.cs:4: `Relay.MigrationRelay`", StringComparison.Ordinal));
        Assert.Contains(violations, v => v.StartsWith("src/Engine/Interop/Bad.cs:2: `Engine.Pipeline.PageResult`", StringComparison.Ordinal));
    }

    private static List<string> FindUpwardImports(IReadOnlyCollection<SourceFile> files)
    {
        // Types declared in the root namespace are visible everywhere without a using: find them by name.
        var rootTypes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (SourceFile file in files)
        {
            if (file.Namespace == "Engine")
            {
                foreach (Match m in TypeDeclaration().Matches(file.Code))
                {
                    rootTypes[m.Groups[1].Value] = file.Folder;
                }
            }
        }

        var violations = new List<string>();
        foreach (SourceFile file in files)
        {
            if (!Floors.TryGetValue(file.Folder, out int floor))
            {
                continue;
            }

            string[] lines = file.Code.Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                string line = lines[i];
                Match u = UsingDirective().Match(line);
                if (u.Success)
                {
                    Check(file, i, u.Value.Trim(), u.Groups[1].Value);
                    continue;
                }

                foreach (Match q in QualifiedName().Matches(line))
                {
                    Check(file, i, q.Value, q.Groups[1].Value);
                }

                foreach (Match t in Identifier().Matches(line))
                {
                    if (rootTypes.TryGetValue(t.Value, out string? folder) && folder != file.Folder && Floors[folder] >= floor)
                    {
                        violations.Add(Describe(file, i, t.Value, folder));
                    }
                }
            }

            void Check(SourceFile f, int line, string text, string folder)
            {
                if (folder != f.Folder && Floors.TryGetValue(folder, out int other) && other >= floor)
                {
                    violations.Add(Describe(f, line, text, folder));
                }
            }

            string Describe(SourceFile f, int line, string text, string folder)
                => $"{f.Path}:{line + 1}: `{text}` imports {(folder.Length == 0 ? "the root" : folder)} (floor {Floors[folder]}) into {f.Folder} (floor {floor})";
        }

        return violations;
    }

    [GeneratedRegex(@"^\s*(?:global\s+)?using\s+(?:static\s+)?(?:\w+\s*=\s*)?Engine\.(\w+)[\w.]*\s*;")]
    private static partial Regex UsingDirective();

    // Engine.X.Name, or X.Name with X a folder's namespace, not itself after a dot (so a member's .X.Name is not one).
    [GeneratedRegex(@"(?<![\w.])(?:global::)?(?:Engine\.)?(Interop|Threading|Memory|Codecs|Pipeline|Diagnostics|Wire|Transport|Receive|Multifd|Migration|Tools|Relay)\.[A-Z]\w*")]
    private static partial Regex QualifiedName();

    [GeneratedRegex(@"(?<![\w.])[A-Z]\w*")]
    private static partial Regex Identifier();

    [GeneratedRegex(@"^(?:\[[^\]]*\]\s*)*(?:(?:public|internal|static|sealed|abstract|readonly|partial|unsafe|ref|file)\s+)*(?:class|struct|interface|enum|record(?:\s+struct|\s+class)?)\s+(\w+)", RegexOptions.Multiline)]
    private static partial Regex TypeDeclaration();
}
