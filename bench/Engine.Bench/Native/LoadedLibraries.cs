namespace Engine.Bench.Native;

/// <summary>Reads which shared objects this process has mapped (Linux /proc/self/maps).</summary>
internal static class LoadedLibraries
{
    /// <summary>The distinct files mapped whose name contains <paramref name="nameFragment"/>.</summary>
    internal static IReadOnlyList<string> Find(string nameFragment)
    {
        SortedSet<string> paths = new(StringComparer.Ordinal);
        foreach (string line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash < 0)
            {
                continue;
            }

            string path = line[slash..].Trim();
            if (Path.GetFileName(path).Contains(nameFragment, StringComparison.Ordinal))
            {
                paths.Add(path);
            }
        }

        return [.. paths];
    }

    /// <summary>The one file mapped whose name contains <paramref name="nameFragment"/>; throws if none or several.</summary>
    internal static string FindSingle(string nameFragment)
    {
        IReadOnlyList<string> paths = Find(nameFragment);
        return paths.Count switch
        {
            1 => paths[0],
            0 => throw new InvalidOperationException(
                $"no {nameFragment} is loaded in this process yet: create a C# codec context before binding the C loops."),
            _ => throw new InvalidOperationException(
                $"several {nameFragment} files are loaded ({string.Join(", ", paths)}): C and C# would not compare the same library."),
        };
    }
}
