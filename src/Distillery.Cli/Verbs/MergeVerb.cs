using System.CommandLine;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Prompts;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill merge --prompts FILE --out DIR FOLDER…</c>: one dataset in prompt order from the folders of processes that shared a ledger.</summary>
public sealed class MergeVerb(CliContext context) : IVerb
{
    private readonly Argument<string[]> folders = new("folders") { Description = "Dataset folders to merge (each one process's --out)", Arity = ArgumentArity.OneOrMore };
    private readonly Option<string> prompts = new("--prompts") { Description = "The prompts file the processes worked: it gives the rows' order", Required = true };
    private readonly Option<string> output = new("--out") { Description = "The merged dataset folder (new, or without rows)", Required = true };

    /// <inheritdoc />
    public Command Build()
    {
        var command = new Command("merge", "Merge the dataset folders of processes that shared one ledger into one dataset in prompt order, each row once, with a merged manifest")
        {
            folders, prompts, output,
        };
        command.SetAction((parse, ct) => RunAsync(parse, ct));
        return command;
    }

    private async Task<int> RunAsync(ParseResult parse, CancellationToken cancellationToken)
    {
        var promptSet = await PromptFile.ReadAsync(parse.GetValue(prompts)!, cancellationToken);
        var summary = await DatasetMerge.MergeAsync(parse.GetValue(folders)!, parse.GetValue(output)!, promptSet, cancellationToken);
        context.Console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
            $"{summary.Rows} rows in prompt order into {parse.GetValue(output)} ({summary.Duplicates} duplicate rows dropped; {summary.MissingPrompts} of {promptSet.Prompts.Count} prompts without a row)")));
        return ExitCodes.Ok;
    }
}
