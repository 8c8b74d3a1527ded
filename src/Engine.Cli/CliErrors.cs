namespace Engine.Cli;

/// <summary>Turns the errors a user can cause into one clear line on stderr and an exit code.</summary>
internal static class CliErrors
{
    /// <summary>Exit code of a bad parameter or usage.</summary>
    public const int Usage = 2;

    /// <summary>Exit code of a failure while working (I/O, bad stream, failed verification).</summary>
    public const int Failure = 1;

    /// <summary>Runs <paramref name="body"/>; expected failures print "engine: error: ..." instead of a stack trace.</summary>
    public static int Run(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (EngineParameterException e)
        {
            Console.Error.WriteLine($"engine: error: {e.Message}");
            return Usage;
        }
        catch (EngineException e)
        {
            // Stream errors name the byte offset and what was expected there; page errors name the block and offset; native
            // errors (engine info's self-check, a codec's first use) name the library file looked for and the fix.
            Console.Error.WriteLine($"engine: error: {e.Message}");
            return Failure;
        }
        catch (Exception e) when (e is DllNotFoundException or NotSupportedException)
        {
            // A library the runtime loads itself (Engine's own libraries fail as EngineException, kind Native, above, naming
            // the file and the fix), or an operation a stream does not support.
            Console.Error.WriteLine($"engine: error: {e.Message}");
            return Failure;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidDataException)
        {
            Console.Error.WriteLine($"engine: error: {e.Message}");
            return Failure;
        }
        catch (OperationCanceledException)
        {
            Console.Error.WriteLine("engine: cancelled");
            return 130;
        }
    }
}
