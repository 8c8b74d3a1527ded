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

        // Ctrl-C: System.CommandLine 2.0 installs its SIGINT/SIGTERM handler only on the asynchronous pipeline and only
        // with a termination timeout (none by default). The handler cancels the token that the long-running commands
        // (migrate, incoming, demo) pass down, so they end cleanly ("engine: cancelled", exit code 130) instead of being
        // killed mid-write; a command still running after the timeout is abandoned with exit code 130.
        var invocation = new InvocationConfiguration { ProcessTerminationTimeout = TimeSpan.FromSeconds(10) };
        return root.Parse(args).InvokeAsync(invocation).GetAwaiter().GetResult();
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
        root.Subcommands.Add(RelayCommand.Create());
        root.Subcommands.Add(StreamCommands.CreateInspect());
        root.Subcommands.Add(StreamCommands.CreateExtract());
        root.Subcommands.Add(StreamCommands.CreateTranscode());
        root.Subcommands.Add(InfoCommand.Create());
        return root;
    }
}
