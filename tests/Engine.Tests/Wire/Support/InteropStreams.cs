namespace Engine.Tests.Wire.Support;

/// <summary>Finds the migration streams tests/interop/make-streams.sh saved from real QEMU 7.2.</summary>
internal static class InteropStreams
{
    public static readonly string[] Names = { "stream-plain.bin", "stream-zlib1.bin", "stream-zlib9.bin" };

    public static string? Directory { get; } = Find();

    public static string Path(string name) => System.IO.Path.Combine(Directory!, name);

    private static string? Find()
    {
        string? fromEnvironment = Environment.GetEnvironmentVariable("INTEROP_WORK");
        if (!string.IsNullOrEmpty(fromEnvironment))
        {
            return HasStreams(fromEnvironment) ? fromEnvironment : null;
        }

        for (DirectoryInfo? dir = new(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(System.IO.Path.Combine(dir.FullName, "Engine.sln")))
            {
                string work = System.IO.Path.Combine(dir.FullName, "tests", "interop", "work");
                return HasStreams(work) ? work : null;
            }
        }

        return null;
    }

    private static bool HasStreams(string directory)
        => Names.All(name => File.Exists(System.IO.Path.Combine(directory, name)) && new FileInfo(System.IO.Path.Combine(directory, name)).Length > 0);
}
