using System.CommandLine;
using System.Globalization;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill convert DIR</c>: moves an old dataset's inline token logprobs into the compact sidecar.</summary>
public sealed class ConvertVerb(CliContext context) : IVerb
{
    private readonly Argument<string> target = new("dataset") { Description = "A dataset folder (data.jsonl) written with its logprobs inline" };

    /// <inheritdoc />
    public Command Build()
    {
        var command = new Command("convert", "Move a dataset's inline token logprobs into the compact sidecar (tokens.bin, logprobs.bin)") { target };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(target)!, ct));
        return command;
    }

    private async Task<int> RunAsync(string directory, CancellationToken cancellationToken)
    {
        var result = await context.Console.Status().StartAsync("reading and rewriting the rows", _ => DatasetConversion.ConvertAsync(directory, cancellationToken));
        context.Console.MarkupLine(Markup.Escape(result.InlineRows == 0
            ? $"{directory}: all {result.Rows} rows already keep their logprobs in the sidecar; nothing to do"
            : string.Create(CultureInfo.InvariantCulture, $"{directory}: moved the logprobs of {result.InlineRows} of {result.Rows} rows to the sidecar; {result.BytesBefore:N0} → {result.BytesAfter:N0} bytes")));
        return ExitCodes.Ok;
    }
}
