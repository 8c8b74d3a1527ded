namespace Engine.Tests.Cli;

/// <summary>A scratch directory for one CLI test, deleted with everything in it on dispose.</summary>
internal sealed class CliScratch : IDisposable
{
    public CliScratch()
    {
        Root = Path.Combine(Path.GetTempPath(), "engine-cli-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Root);
    }

    public string Root { get; }

    public string this[string name] => Path.Combine(Root, name);

    /// <summary>The names of everything directly in <paramref name="directory"/> (files and directories), sorted.</summary>
    public static string[] Entries(string directory)
        => Directory.EnumerateFileSystemEntries(directory).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray();

    public void Dispose()
    {
        if (Directory.Exists(Root))
        {
            Directory.Delete(Root, recursive: true);
        }
    }
}
