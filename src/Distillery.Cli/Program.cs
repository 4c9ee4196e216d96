using System;
using System.Threading;
using System.Threading.Tasks;
using Spectre.Console;

namespace Distillery.Cli;

/// <summary>Entry point of the <c>distill</c> command.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static async Task<int> Main(string[] args)
    {
        using var cancel = new CancellationTokenSource();
        Console.CancelKeyPress += (_, e) =>
        {
            // The first Ctrl-C asks the running verb to save and stop; a second one kills the process.
            if (cancel.IsCancellationRequested) return;
            e.Cancel = true;
            cancel.Cancel();
        };
        // Redirected output (logs, CI) gets wide tables rather than the 80-column default.
        if (Console.IsOutputRedirected) AnsiConsole.Console.Profile.Width = 160;
        return await CliApp.RunAsync(args, AnsiConsole.Console, Console.Error, cancel.Token);
    }
}
