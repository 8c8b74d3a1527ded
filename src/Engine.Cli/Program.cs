namespace Engine.Cli;

internal static class Program
{
    private static int Main(string[] args)
    {
        Console.Error.WriteLine("engine: not implemented yet");
        return 1;
    }
}
