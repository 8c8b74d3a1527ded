namespace Engine.Fuzz;

/// <summary>
/// The coverage-guided fuzzing harness. Under afl-fuzz it runs one target through SharpFuzz's fork server; outside it,
/// it replays inputs (to triage what AFL found), writes the seed corpus, or instruments the assemblies under test.
/// </summary>
internal static class Program
{
    private const string UsageText = """
        usage:
          Engine.Fuzz reader|decoder|multifd         run the target under afl-fuzz (input on stdin)
          Engine.Fuzz reader|decoder|multifd PATH... replay files or directories of inputs; exit 1 on any finding
          Engine.Fuzz --make-corpus DIR              write seed inputs to DIR/reader, DIR/decoder and DIR/multifd
          Engine.Fuzz --instrument DIR               instrument Engine.Core.dll (and SharpZipLib's inflater) in DIR, in place
        """;

    private static int Main(string[] args)
    {
        // Each mode lives in its own method so that --instrument never loads Engine.Core.dll, the file it rewrites.
        if (args.Length == 0)
        {
            return Usage();
        }

        switch (args[0])
        {
            case "--make-corpus" when args.Length == 2:
                return MakeCorpus(args[1]);
            case "--instrument" when args.Length == 2:
                return Instrumenter.Run(args[1]);
            case "reader":
            case "decoder":
            case "multifd":
                return args.Length == 1 ? Fuzz(args[0]) : Replayer.Run(args[0], args[1..]);
            default:
                return Usage();
        }
    }

    private static int Fuzz(string target)
    {
        IFuzzTarget? fuzzTarget = null;
        var input = new InputBuffer();

        // The target is created inside the first run: instrumented Engine code may only execute once SharpFuzz has
        // attached AFL's shared memory, and a target's constructor already calls into Engine. Out of process: an input
        // that kills the process outright (a native crash in zlib or zstd, a stack overflow) costs a restart of the
        // child instead of the fork server itself.
        SharpFuzz.Fuzzer.OutOfProcess.Run(stream => (fuzzTarget ??= FuzzTargets.Create(target)).Run(input.ReadAll(stream)));
        return 0;
    }

    private static int MakeCorpus(string directory)
    {
        int written = SeedCorpus.Write(directory);
        Console.WriteLine($"wrote {written} seed inputs under {Path.GetFullPath(directory)}");
        return 0;
    }

    private static int Usage()
    {
        Console.Error.WriteLine(UsageText);
        return 2;
    }
}
