using System.Diagnostics;

namespace Engine.Tests.Cli;

/// <summary>Runs the real <c>engine</c> command (engine.dll beside the tests) as a child process, with a hang timeout.</summary>
internal static class EngineCli
{
    public sealed record Result(int ExitCode, string StdOut, string StdErr);

    public static Result Run(TimeSpan timeout, params string[] args)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "engine.dll");
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
        };
        info.ArgumentList.Add(dll);
        foreach (string a in args)
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["NO_COLOR"] = "1";
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start dotnet");
        process.StandardInput.Close();
        Task<string> stdout = process.StandardOutput.ReadToEndAsync();
        Task<string> stderr = process.StandardError.ReadToEndAsync();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"engine {string.Join(' ', args)} did not finish within {timeout.TotalSeconds} s");
        }

        process.WaitForExit();
        return new Result(process.ExitCode, stdout.Result, stderr.Result);
    }
}
