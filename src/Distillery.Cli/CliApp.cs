using System;
using System.Collections.Generic;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Cli.Verbs;
using Distillery.Core.Errors;
using Spectre.Console;

namespace Distillery.Cli;

/// <summary>The <c>distill</c> command line: parses arguments, runs a verb, and maps every outcome to an exit code.</summary>
public static class CliApp
{
    /// <summary>Runs <c>distill</c> with the given arguments, writing to the given console and error writer.</summary>
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(args);
        var context = new CliContext(console, error, cancellationToken);
        var root = BuildRoot(context);
        var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parse.Errors.Count > 0)
        {
            // One line, not a help screen: an unknown token says more than "a command is required".
            var first = parse.Errors.FirstOrDefault(e => !e.Message.StartsWith("Required command", StringComparison.Ordinal)) ?? parse.Errors[0];
            await error.WriteLineAsync($"distill: {first.Message} (see 'distill --help')");
            return ExitCodes.BadInput;
        }

        var config = new InvocationConfiguration { EnableDefaultExceptionHandler = false, Output = console.Profile.Out.Writer, Error = error };
        try
        {
            return await parse.InvokeAsync(config, cancellationToken);
        }
        catch (DistilleryException e)
        {
            await error.WriteLineAsync($"distill: {e.Message}");
            return e.ExitCode;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            await error.WriteLineAsync("distill: interrupted; what was finished is saved, and running the same command again resumes");
            return ExitCodes.Failed;
        }
        catch (Exception e)
        {
            // Anything else is a bug: one line and where to report it, never a stack trace; the trace goes to a report file.
            var report = InternalError.Describe(e, "distill " + string.Join(' ', args), TimeProvider.System.GetUtcNow(), Path.GetTempPath());
            await error.WriteLineAsync($"distill: {report}");
            return ExitCodes.InternalError;
        }
    }

    /// <summary>The verbs that <c>distill</c> offers, in the order help lists them.</summary>
    public static IReadOnlyList<IVerb> Verbs(CliContext context) =>
    [
        new DoctorVerb(context),
        new SampleVerb(context),
        new GenerateVerb(context),
        new EvalVerb(context),
        new ServeVerb(context),
        new ExportVerb(context),
        new TrainVerb(context),
        new RunVerb(context),
        new DemoVerb(context),
        new AuditVerb(context),
        new MergeVerb(context),
        new ConvertVerb(context),
        new ProvenanceVerb(context),
    ];

    private static RootCommand BuildRoot(CliContext context)
    {
        var root = new RootCommand("Distillery: knowledge distillation for .NET. A teacher model trains a smaller student; a ledger records which teacher made which data.");
        foreach (var command in Verbs(context).Select(v => v.Build()))
            root.Subcommands.Add(command);
        return root;
    }
}
