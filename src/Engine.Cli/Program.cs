using System.CommandLine;
using Engine.Cli.Commands;

namespace Engine.Cli;

/// <summary>The <c>engine</c> command.</summary>
internal static class Program
{
    private static int Main(string[] args)
    {
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
        return root;
    }
}
