using System.IO;
using System.Threading;
using System.Threading.Tasks;
using Spectre.Console;

namespace Distillery.Cli.Tests;

/// <summary>Runs <c>distill</c> in-process with captured output and error streams.</summary>
public static class CliHarness
{
    /// <summary>What a run printed and returned.</summary>
    public sealed record Result(int ExitCode, string Output, string Error);

    /// <summary>Runs the command line with the given arguments.</summary>
    public static async Task<Result> RunAsync(params string[] args) => await RunAsync(args, CancellationToken.None);

    /// <summary>Runs the command line with the given arguments and cancellation.</summary>
    public static async Task<Result> RunAsync(string[] args, CancellationToken cancellationToken)
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
        console.Profile.Width = 160;
        var code = await CliApp.RunAsync(args, console, error, cancellationToken);
        return new Result(code, output.ToString(), error.ToString());
    }
}
