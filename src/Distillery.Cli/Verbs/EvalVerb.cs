using System;
using System.CommandLine;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Errors;
using Distillery.Evaluation;
using Distillery.Evaluation.Reports;
using Distillery.Pipeline;
using Spectre.Console;

namespace Distillery.Cli.Verbs;

/// <summary><c>distill eval</c>: scores models on held-out data against a teacher, prints a table, writes a report.</summary>
public sealed class EvalVerb(CliContext context) : IVerb
{
    /// <inheritdoc />
    public Command Build()
    {
        var models = new Option<string[]>("--model") { Description = "Model to evaluate, as [NAME=]SPEC; repeat for several", Required = true, AllowMultipleArgumentsPerToken = false };
        var teacher = new Option<string?>("--teacher") { Description = "Local teacher ([NAME=]SPEC) for KL and agreement" };
        var data = new Option<string>("--data") { Description = "Held-out data: a dataset folder, JSONL (messages | question+answer | text) or a .txt file", Required = true };
        var report = new Option<string?>("--report") { Description = "Folder for report.md, report.html and PNG plots" };
        var limit = new Option<int>("--limit") { Description = "Use at most this many examples", DefaultValueFactory = _ => 200 };
        var samples = new Option<int>("--samples") { Description = "Side-by-side samples in the report", DefaultValueFactory = _ => 3 };
        var template = new ChatTemplateOptions("each model's");
        var device = new DeviceOption();
        var command = new Command("eval", "Evaluate models: cross-entropy, KL to the teacher, agreement, exact match, ms/token, size") { models, teacher, data, report, limit, samples };
        template.AddTo(command);
        device.AddTo(command);
        command.SetAction(async (parse, ct) => await RunAsync(parse.GetValue(models)!, parse.GetValue(teacher), parse.GetValue(data)!, parse.GetValue(report),
            parse.GetValue(limit), parse.GetValue(samples), new EvalOptions { ChatTemplate = await template.ResolveAsync(parse, ct), Device = device.Parse(parse) }, ct));
        return command;
    }

    private async Task<int> RunAsync(string[] models, string? teacher, string data, string? reportDir, int limit, int samples, EvalOptions scoring,
        CancellationToken cancellationToken)
    {
        var options = new EvaluateOptions
        {
            Teacher = teacher is null ? null : NamedModel.Parse(teacher),
            Models = models.Select(NamedModel.Parse).ToList(),
            Data = data,
            Limit = limit,
            Samples = samples,
            Scoring = scoring,
            ReportDirectory = reportDir,
        }.Validate(); // bad counts fail before the status line starts
        var result = await context.Console.Status().StartAsync("evaluating", async status =>
            await DistilleryPipeline.EvaluateAsync(options, new Progress<PipelineProgress>(p => status.Status(Markup.Escape(p.Message))), cancellationToken));
        Print(context.Console, result.Report);
        if (reportDir is not null) context.Console.MarkupLine($"Report: {Markup.Escape(string.Join(", ", result.ReportFiles))}");
        return ExitCodes.Ok;
    }

    /// <summary>Prints the models table (and the provenance table, where there is one).</summary>
    public static void Print(IAnsiConsole console, EvaluationReport report)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(report);
        console.Write(ToTable(ReportTable.Headers, ReportTable.Rows(report.Models)).Title(Markup.Escape(report.Data)));
        console.MarkupLine("[dim]" + Markup.Escape(ReportTable.Legend) + "[/]");
        if (report.Provenance.Count > 0)
            console.Write(ToTable(ReportWriter.ProvenanceHeaders, ReportWriter.ProvenanceRows(report.Provenance)).Title("teacher data"));
    }

    private static Table ToTable(System.Collections.Generic.IReadOnlyList<string> headers, System.Collections.Generic.IReadOnlyList<System.Collections.Generic.IReadOnlyList<string>> rows)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var (h, i) in headers.Select((h, i) => (h, i))) table.AddColumn(i == 0 ? new TableColumn(h) : new TableColumn(h).RightAligned());
        foreach (var row in rows) table.AddRow(row.Select(Markup.Escape).ToArray());
        return table;
    }
}
