#:project ../../src/Engine/Engine.csproj
#:project ../../src/Engine.Tools/Engine.Tools.csproj
// engine-shim.cs: a stand-in for `engine extract|transcode|inspect` over Engine.Tools (public, as the CLI uses it), for running the interop
// checks before the CLI is wired (ENGINE="dotnet run tests/interop/engine-shim.cs --" tests/interop/run-interop.sh).
// Same arguments as the CLI: extract FILE --out DIR; transcode IN OUT --compress-method M --compress-level L
// --compress-threads N; inspect FILE.
using Engine;
using Engine.Codecs;
using Engine.Migration;
using Engine.Tools;

string Option(string name, string fallback)
{
    int i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : fallback;
}

try
{
    switch (args.FirstOrDefault())
    {
        case "extract":
            RamExtractResult extracted = RamExtractor.Extract(args[1], Option("--out", "."), new RamExtractOptions
            {
                Parameters = new MigrationParameters { DecompressThreads = int.Parse(Option("--decompress-threads", "2")) },
            });
            foreach (ExtractedBlock block in extracted.Blocks)
            {
                Console.WriteLine($"{block.Name}\t{block.Length}\t{block.Path}");
            }

            return 0;
        case "transcode":
            TranscodeResult result = Transcoder.Transcode(args[1], args[2], new TranscodeOptions
            {
                Parameters = new MigrationParameters
                {
                    Compression = CompressionSettings.Parse(Option("--compress-method", "zlib"), int.Parse(Option("--compress-level", "1"))),
                    CompressThreads = int.Parse(Option("--compress-threads", "2")),
                },
            });
            Console.WriteLine($"{result.BytesRead} -> {result.BytesWritten} bytes; compressed {result.CompressedPages}, raw {result.RawPages}, zero {result.ZeroPages}");
            return 0;
        case "inspect":
            StreamInspector.Inspect(args[1]).WriteText(Console.Out);
            return 0;
        default:
            Console.Error.WriteLine("usage: engine-shim extract FILE --out DIR | transcode IN OUT --compress-method M --compress-level L --compress-threads N | inspect FILE");
            return 2;
    }
}
catch (EngineException e) // a malformed stream (Kind Stream), or a page that does not decompress
{
    Console.Error.WriteLine($"engine: {e.Message}");
    return 1;
}
