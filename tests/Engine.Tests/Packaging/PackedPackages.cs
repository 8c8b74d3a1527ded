using System.Diagnostics;
using System.IO.Compression;
using System.Reflection;
using System.Xml.Linq;
using Xunit;

namespace Engine.Tests.Packaging;

/// <summary>
/// The two NuGet packages, packed once per test run from the projects' build output (<c>dotnet pack --no-build</c>, the same
/// configuration as the tests) into a temporary folder, so the tests check what <c>dotnet cake --target=Pack</c> makes
/// without depending on it having run.
/// </summary>
public sealed class PackedPackages : IDisposable
{
    public const string LibraryId = "VmPageEngine";
    public const string ToolId = "VmPageEngine.Tool";

    public PackedPackages()
    {
        Root = FindRepositoryRoot();
        Folder = Directory.CreateTempSubdirectory("engine-packages-").FullName;
        string configuration = typeof(PackedPackages).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Release";
        foreach (string project in new[] { "src/Engine/Engine.csproj", "src/Engine.Cli/Engine.Cli.csproj" })
        {
            Run(TimeSpan.FromMinutes(2), Root, "dotnet", "pack", Path.Combine(Root, project), "-c", configuration, "--no-build", "-o", Folder, "-nologo");
        }
    }

    /// <summary>The repository's root (where Engine.sln is).</summary>
    public string Root { get; }

    /// <summary>The folder holding the .nupkg and .snupkg files.</summary>
    public string Folder { get; }

    /// <summary>The path of the package <paramref name="id"/> (its only version), with <paramref name="extension"/>.</summary>
    public string PathOf(string id, string extension = ".nupkg")
    {
        string[] found = Directory.GetFiles(Folder, $"{id}.*{extension}")
            .Where(f => System.Text.RegularExpressions.Regex.IsMatch(Path.GetFileName(f), $@"^{System.Text.RegularExpressions.Regex.Escape(id)}\.\d+\.\d+\.\d+[^/]*{System.Text.RegularExpressions.Regex.Escape(extension)}$"))
            .ToArray();
        Assert.True(found.Length == 1, $"expected one {id}{extension} in {Folder}, found: {string.Join(", ", Directory.GetFiles(Folder).Select(Path.GetFileName))}");
        return found[0];
    }

    /// <summary>The package's .nuspec, parsed.</summary>
    public XElement Nuspec(string id)
    {
        using ZipArchive zip = ZipFile.OpenRead(PathOf(id));
        ZipArchiveEntry entry = zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal) && !e.FullName.Contains('/'));
        using Stream s = entry.Open();
        return XElement.Load(s);
    }

    /// <summary>The names of every file in the package.</summary>
    public string[] Entries(string id, string extension = ".nupkg")
    {
        using ZipArchive zip = ZipFile.OpenRead(PathOf(id, extension));
        return zip.Entries.Select(e => e.FullName).ToArray();
    }

    /// <summary>The bytes of one file in the package.</summary>
    public byte[] Read(string id, string entryName)
    {
        using ZipArchive zip = ZipFile.OpenRead(PathOf(id));
        using Stream s = zip.GetEntry(entryName)?.Open() ?? throw new FileNotFoundException($"{entryName} is not in {id}");
        using var copy = new MemoryStream();
        s.CopyTo(copy);
        return copy.ToArray();
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A temporary folder; best effort.
        }
    }

    /// <summary>Runs a process to its end (killing it after <paramref name="timeout"/>); throws with its output unless it exits 0.</summary>
    public static string Run(TimeSpan timeout, string workingDirectory, string file, params string[] args)
        => Run(timeout, workingDirectory, null, file, args);

    public static string Run(TimeSpan timeout, string workingDirectory, IReadOnlyDictionary<string, string>? environment, string file, params string[] args)
    {
        var info = new ProcessStartInfo(file)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        info.Environment["DOTNET_NOLOGO"] = "1";
        info.Environment["NO_COLOR"] = "1";
        foreach ((string key, string value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[key] = value;
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start {file}");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
        }

        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} exited with {process.ExitCode}:\n{stdout.Result}\n{stderr.Result}");
        }

        return stdout.Result;
    }

    private static string FindRepositoryRoot()
    {
        for (DirectoryInfo? d = new(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            if (File.Exists(Path.Combine(d.FullName, "Engine.sln")))
            {
                return d.FullName;
            }
        }

        throw new InvalidOperationException($"no Engine.sln above {AppContext.BaseDirectory}");
    }
}
