using System.Text;
using System.Text.RegularExpressions;
using Xunit;

namespace Engine.Tests.Architecture;

/// <summary>
/// One source file of src/Engine (the library) or src/Engine.Tools (the tools above it) as the floor check reads it: comments
/// and string contents blanked, lines kept.
/// </summary>
internal sealed partial record SourceFile(string Path, string Folder, string Namespace, string Code)
{
    /// <summary>The projects whose folders are floors: the library, and Engine.Tools (its top floors, Tools and Relay).</summary>
    public static readonly string[] Projects = ["src/Engine", "src/Engine.Tools"];

    /// <summary>The project (one of <see cref="Projects"/>) the file is in.</summary>
    public string Project => Path[..Path.IndexOf('/', "src/".Length)];

    /// <summary>Every <c>*.cs</c> under the <see cref="Projects"/> (bin and obj left out), paths relative to the repository.</summary>
    public static IReadOnlyCollection<SourceFile> All()
    {
        string root = FindRepositoryRoot();
        var files = new List<SourceFile>();
        foreach (string project in Projects)
        {
            string directory = System.IO.Path.Combine(root, project);
            int before = files.Count;
            foreach (string path in Directory.EnumerateFiles(directory, "*.cs", SearchOption.AllDirectories))
            {
                string relative = System.IO.Path.GetRelativePath(directory, path).Replace('\\', '/');
                if (relative.StartsWith("bin/", StringComparison.Ordinal) || relative.StartsWith("obj/", StringComparison.Ordinal))
                {
                    continue;
                }

                int slash = relative.IndexOf('/', StringComparison.Ordinal);
                string folder = slash < 0 ? "" : relative[..slash];
                files.Add(FromText(project + "/" + relative, folder, File.ReadAllText(path)));
            }

            Assert.True(files.Count > before, $"no source files in {project}");
        }

        return files;
    }

    /// <summary>Reads one file's text: its namespace, and its code without comments and string contents.</summary>
    public static SourceFile FromText(string path, string folder, string text)
    {
        string code = Blank(text);
        Match ns = FileNamespace().Match(code);
        return new SourceFile(path, folder, ns.Success ? ns.Groups[1].Value : "", code);
    }

    // Comments and the insides of string and character literals become spaces (newlines kept, so line numbers hold); an
    // interpolation's holes are blanked too, a known blind spot of a text check.
    private static string Blank(string text)
    {
        var sb = new StringBuilder(text.Length);
        int i = 0;
        while (i < text.Length)
        {
            char c = text[i];
            char next = i + 1 < text.Length ? text[i + 1] : '\0';
            if (c == '/' && next == '/')
            {
                while (i < text.Length && text[i] != '\n')
                {
                    sb.Append(' ');
                    i++;
                }
            }
            else if (c == '/' && next == '*')
            {
                int end = text.IndexOf("*/", i + 2, StringComparison.Ordinal);
                end = end < 0 ? text.Length : end + 2;
                BlankRange(sb, text, i, end);
                i = end;
            }
            else if (c == '"' && next == '"' && i + 2 < text.Length && text[i + 2] == '"')
            {
                int end = text.IndexOf("\"\"\"", i + 3, StringComparison.Ordinal);
                end = end < 0 ? text.Length : end + 3;
                BlankRange(sb, text, i, end);
                i = end;
            }
            else if (c == '"' || c == '\'')
            {
                bool verbatim = i > 0 && (text[i - 1] == '@' || (text[i - 1] == '$' && i > 1 && text[i - 2] == '@'));
                int j = i + 1;
                while (j < text.Length && text[j] != '\n')
                {
                    if (!verbatim && text[j] == '\\')
                    {
                        j += 2;
                        continue;
                    }

                    if (text[j] == c)
                    {
                        if (verbatim && j + 1 < text.Length && text[j + 1] == c)
                        {
                            j += 2;
                            continue;
                        }

                        break;
                    }

                    j++;
                }

                bool closed = j < text.Length && text[j] == c;
                sb.Append(c);
                BlankRange(sb, text, i + 1, Math.Min(j, text.Length));
                if (closed)
                {
                    sb.Append(c);
                    j++;
                }

                i = Math.Min(j, text.Length);
            }
            else
            {
                sb.Append(c);
                i++;
            }
        }

        return sb.ToString();
    }

    private static void BlankRange(StringBuilder sb, string text, int start, int end)
    {
        for (int k = start; k < end; k++)
        {
            sb.Append(text[k] == '\n' ? '\n' : ' ');
        }
    }

    /// <summary>The repository's root (where Engine.sln is), found above the tests' directory.</summary>
    internal static string FindRepositoryRoot()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(d.FullName, "Engine.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"no Engine.sln above {AppContext.BaseDirectory}");
    }

    [GeneratedRegex(@"^namespace\s+([\w.]+)\s*;", RegexOptions.Multiline)]
    private static partial Regex FileNamespace();
}
