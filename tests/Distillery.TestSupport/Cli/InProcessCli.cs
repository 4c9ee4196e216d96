using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Spectre.Console;

namespace Distillery.TestSupport.Cli;

/// <summary>The CLI's in-process entry point: arguments, the console for output, the writer for errors; returns the exit code.</summary>
public delegate Task<int> CliEntryPoint(string[] args, IAnsiConsole console, TextWriter error, CancellationToken cancellationToken);

/// <summary>Runs a CLI entry point in this process with its output and error captured as plain text (no colour, no ANSI codes, 240 columns).</summary>
public static class InProcessCli
{
    /// <summary>The console width the runs get: wide enough that tables do not wrap.</summary>
    public const int Width = 240;

    /// <summary>Runs the entry point with the given arguments.</summary>
    public static async Task<CliResult> RunAsync(CliEntryPoint entryPoint, string[] args, CancellationToken cancellationToken = default)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(output),
            Interactive = InteractionSupport.No,
        });
        console.Profile.Width = Width;
        var exitCode = await entryPoint(args, console, error, cancellationToken);
        return new CliResult(exitCode, output.ToString(), error.ToString());
    }
}
