using System.Threading;
using System.Threading.Tasks;
using Distillery.TestSupport.Cli;

namespace Distillery.Cli.Tests;

/// <summary>Runs <c>distill</c> in this process, through the shared harness, with its output and error captured.</summary>
public static class Distill
{
    /// <summary>Runs the command line with the given arguments.</summary>
    public static Task<CliResult> RunAsync(params string[] args) => InProcessCli.RunAsync(CliApp.RunAsync, args);

    /// <summary>Runs the command line with the given arguments and cancellation.</summary>
    public static Task<CliResult> RunAsync(string[] args, CancellationToken cancellationToken) => InProcessCli.RunAsync(CliApp.RunAsync, args, cancellationToken);
}
