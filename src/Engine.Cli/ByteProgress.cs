using Spectre.Console;

namespace Engine.Cli;

/// <summary>A progress bar over the bytes of a file, shown only when stdout is a terminal (quiet in logs and pipes).</summary>
internal static class ByteProgress
{
    public static T Run<T>(string description, long totalBytes, Func<IProgress<long>?, T> work)
    {
        if (Console.IsOutputRedirected || !AnsiConsole.Profile.Capabilities.Interactive || totalBytes <= 0)
        {
            return work(null);
        }

        T result = default!;
        AnsiConsole.Progress()
            .AutoClear(true)
            .Columns(
                new TaskDescriptionColumn(),
                new ProgressBarColumn(),
                new PercentageColumn(),
                new TransferSpeedColumn(),
                new RemainingTimeColumn())
            .Start(ctx =>
            {
                ProgressTask task = ctx.AddTask(description, maxValue: totalBytes);

                // The library reports from its reading thread; Spectre's task is safe to update from there.
                result = work(new Progress(task));
                task.Value = totalBytes;
            });
        return result;
    }

    private sealed class Progress(ProgressTask task) : IProgress<long>
    {
        public void Report(long value) => task.Value = value;
    }
}
