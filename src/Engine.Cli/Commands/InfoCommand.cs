using System.CommandLine;
using System.Reflection;
using System.Runtime.InteropServices;

namespace Engine.Cli.Commands;

/// <summary><c>engine info</c>: versions of Engine, .NET and the native libraries, after the native self-check.</summary>
internal static class InfoCommand
{
    public static Command Create()
    {
        var command = new Command("info", "Check the native libraries (libzstd, zlib) and print the versions in use.");
        command.SetAction(_ => CliErrors.Run(() =>
        {
            NativeLibraryVersions versions = NativeLibraries.SelfCheck();
            string engine = typeof(NativeLibraries).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
            Console.WriteLine($"engine   {engine}");
            Console.WriteLine($".NET     {RuntimeInformation.FrameworkDescription} ({RuntimeInformation.RuntimeIdentifier}, {Environment.ProcessorCount} cores)");
            Console.WriteLine($"libzstd  {versions.Zstd} ({versions.ZstdPath})");
            Console.WriteLine($"zlib     {versions.Zlib} ({versions.ZlibPath})");
            return 0;
        }));
        return command;
    }
}
