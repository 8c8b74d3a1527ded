using System.CommandLine;
using Engine.Cli.Commands;

namespace Engine.Cli;

/// <summary>The <c>engine</c> command.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
        if (Console.IsOutputRedirected)
        {
            // Spectre.Console assumes 80 columns when it cannot ask a terminal; tables read better unwrapped in a log.
            Spectre.Console.AnsiConsole.Profile.Width = 160;
        }

        RootCommand root = BuildRoot();
        return root.Parse(args).Invoke();
    }

    /// <summary>The command tree; tests parse against it too.</summary>
    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand(
            "engine: multi-thread page compression (zlib, zstd) for virtual-machine live migration, speaking QEMU 7.2's migration stream.");
        root.Subcommands.Add(CompareCommand.Create());
        root.Subcommands.Add(DemoCommand.Create());
        root.Subcommands.Add(MigrateCommand.Create());
        root.Subcommands.Add(IncomingCommand.Create());
        root.Subcommands.Add(StreamCommands.CreateInspect());
        root.Subcommands.Add(StreamCommands.CreateExtract());
        root.Subcommands.Add(StreamCommands.CreateTranscode());
        root.Subcommands.Add(InfoCommand.Create());
        return root;
    }
}
