namespace Engine.Fuzz;

/// <summary>
/// Adds AFL's edge-coverage instrumentation to the assemblies under test, in place, through SharpFuzz's
/// <see cref="SharpFuzz.Fuzzer.Instrument"/>: the same rewrite the <c>sharpfuzz</c> command-line tool does, without a
/// second tool to install. Only the copies in a fuzzing output directory are rewritten, never the normal build's.
/// </summary>
internal static class Instrumenter
{
    public static int Run(string directory)
    {
        // Engine's own code; and SharpZipLib's inflater, which parses untrusted bytes on the decoder target's managed
        // zlib path. Native zlib and zstd are not .NET code and stay uninstrumented.
        (string File, string Prefix)[] targets =
        {
            ("Engine.Core.dll", "Engine."),
            ("ICSharpCode.SharpZipLib.dll", "ICSharpCode.SharpZipLib.Zip.Compression"),
        };

        foreach ((string file, string prefix) in targets)
        {
            string path = Path.Combine(directory, file);
            if (!File.Exists(path))
            {
                Console.Error.WriteLine($"instrument: {path} not found; build or publish Engine.Fuzz into {directory} first");
                return 1;
            }

            try
            {
                IEnumerable<string> types = SharpFuzz.Fuzzer.Instrument(path, name => name.StartsWith(prefix, StringComparison.Ordinal), SharpFuzz.Options.Value);
                Console.WriteLine($"instrumented {types.Count()} types in {path}");
            }
            catch (SharpFuzz.InstrumentationException e)
            {
                // Typically "already instrumented": the script rebuilds into a clean directory, so this means a stale one.
                Console.Error.WriteLine($"instrument: {path}: {e.Message}");
                return 1;
            }
        }

        return 0;
    }
}
