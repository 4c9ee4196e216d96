using System;
using System.CommandLine;
using System.IO;
using System.Linq;
using System.Globalization;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Audit;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Provenance;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill audit DIR|MODEL</c>: the extent of each teacher's contribution to a dataset or to a model's training data.</summary>
public sealed class AuditVerb(CliContext context) : IVerb
{
    private readonly Argument<string> target = new("target") { Description = "A dataset folder (data.jsonl) or a model folder (distillery.json listing its datasets)" };
    private readonly Option<bool> json = new("--json") { Description = "Print the report as JSON" };

    /// <inheritdoc />
    public Command Build()
    {
        var command = new Command("audit", "Show each teacher's contribution: rows, prompt and completion tokens, share of the training tokens, cost, date range") { target, json };
        command.SetAction((parse, ct) => RunAsync(parse.GetValue(target)!, parse.GetValue(json), ct));
        return command;
    }

    private async Task<int> RunAsync(string path, bool asJson, CancellationToken cancellationToken)
    {
        var report = await Auditor.AuditAsync(path, cancellationToken);
        if (asJson)
        {
            // Straight to the output writer: the console would wrap long lines.
            await context.Console.Profile.Out.Writer.WriteLineAsync(JsonSerializer.Serialize(report, DatasetJson.Indented));
            return ExitCodes.Ok;
        }
        var table = new Table()
            .Title(Markup.Escape($"{report.Kind} {report.Target}: {report.TrainingTokens:N0} training (completion) tokens"))
            .AddColumn("teacher").AddColumn("models reported").AddColumn(new TableColumn("rows").RightAligned())
            .AddColumn(new TableColumn("prompt tokens").RightAligned()).AddColumn(new TableColumn("completion tokens").RightAligned())
            .AddColumn(new TableColumn("share").RightAligned()).AddColumn(new TableColumn("cost").RightAligned()).AddColumn("from").AddColumn("to");
        foreach (var line in report.Teachers)
        {
            table.AddRow(
                Markup.Escape(line.Teacher), Markup.Escape(string.Join(", ", line.ModelsReported)), line.Rows.ToString(CultureInfo.InvariantCulture),
                line.PromptTokens.ToString("N0", CultureInfo.InvariantCulture), line.CompletionTokens.ToString("N0", CultureInfo.InvariantCulture),
                (line.Share * 100).ToString("F1", CultureInfo.InvariantCulture) + "%", "$" + line.CostUsd.ToString("F4", CultureInfo.InvariantCulture),
                line.First?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "-", line.Last?.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) ?? "-");
        }
        context.Console.Write(table);
        if (report.Teachers.Count == 0) context.Console.MarkupLine("no rows");
        else if (report.Kind == "model") context.Console.MarkupLine(Markup.Escape($"datasets: {string.Join(", ", report.Datasets)}"));
        if (report.OnPolicyScoring is { } scoring)
            context.Console.MarkupLine(Markup.Escape(string.Create(CultureInfo.InvariantCulture,
                $"on-policy samples scored by {scoring.Teacher} at {scoring.Endpoint}: {scoring.Requests:N0} requests, {scoring.PromptTokens:N0} tokens, ${scoring.CostUsd:F4} (ledger {scoring.Ledger})")));
        if (Directory.Exists(path)) await PrintProvenanceAsync(path, cancellationToken);
        return ExitCodes.Ok;
    }

    /// <summary>The outside view beside the inside one: each <c>distill provenance</c> result the folder holds.</summary>
    private async Task PrintProvenanceAsync(string folder, CancellationToken cancellationToken)
    {
        foreach (var file in Directory.GetFiles(folder, ProvenanceReport.FilePattern).Order(StringComparer.Ordinal))
        {
            var result = await ProvenanceReport.ReadAsync(file, cancellationToken);
            context.Console.MarkupLine(Markup.Escape(
                $"provenance ({Path.GetFileName(file)}, {result.Test} test, {result.Created:yyyy-MM-dd HH:mm}): {result.Verdict} p = {ProvenanceVerb.FormatP(result.P, result.Log10P)}, {result.Queries:N0} queries, {result.Tokens:N0} tokens"));
        }
    }
}
