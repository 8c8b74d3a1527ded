using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using Engine.Bench.Codecs;
using Engine.Bench.Native;
using Engine.Codecs;

namespace Engine.Bench.Checks;

/// <summary>`--info`: the machine and the libraries, as docs/PERFORMANCE.md records them.</summary>
internal static class MachineInfo
{
    public static int Run(TextWriter output)
    {
        output.WriteLine($"cpu:            {CpuModel()} ({Environment.ProcessorCount} logical cores)");
        output.WriteLine($"os:             {RuntimeInformation.OSDescription} ({RuntimeInformation.OSArchitecture})");
        output.WriteLine($".NET:           {RuntimeInformation.FrameworkDescription}");
        output.WriteLine($"vectors:        Vector256 {Vector256.IsHardwareAccelerated}, Vector512 {Vector512.IsHardwareAccelerated}");
        output.WriteLine($"zlib (C loops): {ReferenceLibrary.ZlibVersion()}");
        output.WriteLine($"zlib mapped:    {string.Join(", ", LoadedLibraries.Find("libz.so"))}");
        output.WriteLine($"zero check (C): {ReferenceLibrary.ZeroCheckVariant()}");
        try
        {
            // Load libzstd the way the C# side does (a real compressor), then report the file both sides use.
            using IPageCompressor zstd = PageCodecKinds.CreateCompressor(PageCodecKind.Zstd, 1);
            output.WriteLine($"libzstd:        {ReferenceLibrary.ZstdVersion()} ({ReferenceLibrary.ZstdPath()})");
        }
        catch (NotImplementedException e)
        {
            output.WriteLine($"libzstd:        not available yet ({e.Message})");
        }

        return 0;
    }

    private static string CpuModel()
    {
        foreach (string line in File.ReadLines("/proc/cpuinfo"))
        {
            if (line.StartsWith("model name", StringComparison.Ordinal))
            {
                return line[(line.IndexOf(':') + 1)..].Trim();
            }
        }

        return RuntimeInformation.ProcessArchitecture.ToString();
    }
}
