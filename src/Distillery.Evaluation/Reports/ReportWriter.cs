using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net;
using System.Text;
using Distillery.Core.Audit;

namespace Distillery.Evaluation.Reports;

/// <summary>Writes a report folder: report.md, report.html and the PNG plots they show.</summary>
public static class ReportWriter
{
    /// <summary>Writes the report into the folder and returns the paths of the files written.</summary>
    public static IReadOnlyList<string> Write(EvaluationReport report, string directory)
    {
        Directory.CreateDirectory(directory);
        var plots = new List<(string File, string Caption)>();
        if (ReportPlots.LossCurves(report.Models, Path.Combine(directory, "loss_curves.png"))) plots.Add(("loss_curves.png", "Training loss of each student"));
        if (ReportPlots.QualityVersusSize(report.Models, Path.Combine(directory, "quality_vs_size.png"))) plots.Add(("quality_vs_size.png", "Quality against size"));
        if (ReportPlots.QualityVersusSpeed(report.Models, Path.Combine(directory, "quality_vs_speed.png"))) plots.Add(("quality_vs_speed.png", "Quality against speed"));
        var winner = Best(report.Models);
        var best = winner is null ? null : BestStudent.From(winner).Write(directory);
        var scores = Path.Combine(directory, ScoresFile);
        File.WriteAllText(scores, System.Text.Json.JsonSerializer.Serialize(report, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
        var md = Path.Combine(directory, "report.md");
        var html = Path.Combine(directory, "report.html");
        File.WriteAllText(md, Markdown(report, plots));
        File.WriteAllText(html, Html(report, plots));
        return [md, html, scores, .. plots.Select(p => Path.Combine(directory, p.File)), .. best is null ? Array.Empty<string>() : [best]];
    }

    /// <summary>The whole report as JSON, for scripts and tests.</summary>
    public const string ScoresFile = "scores.json";

    /// <summary>The best student: lowest KL to the teacher where every student has one (one tokenizer), else lowest bits per byte, else cross-entropy; null without students.</summary>
    public static ModelScore? Best(IReadOnlyList<ModelScore> models)
    {
        ArgumentNullException.ThrowIfNull(models);
        var students = models.Where(m => m.Role != "teacher").ToList();
        // Per-token figures rank only students of one tokenizer (all with a KL to the teacher); otherwise bits per byte.
        if (students.Count > 0 && students.All(m => m.KlToTeacher is not null)) return students.MinBy(m => m.KlToTeacher);
        return students.Any(m => m.BitsPerByte is not null)
            ? students.Where(m => m.BitsPerByte is not null).MinBy(m => m.BitsPerByte)
            : students.Where(m => m.CrossEntropy is not null).MinBy(m => m.CrossEntropy);
    }

    /// <summary>The report as Markdown.</summary>
    public static string Markdown(EvaluationReport report, IReadOnlyList<(string File, string Caption)> plots)
    {
        var s = new StringBuilder();
        s.AppendLine(CultureInfo.InvariantCulture, $"# {report.Title}").AppendLine();
        s.AppendLine(CultureInfo.InvariantCulture, $"Evaluated on {report.Data} — {report.Machine} — {report.Created:yyyy-MM-dd HH:mm} UTC").AppendLine();
        AppendMarkdownTable(s, ReportTable.Headers, ReportTable.Rows(report.Models));
        s.AppendLine().AppendLine(ReportTable.Legend);
        if (report.Provenance.Count > 0)
        {
            s.AppendLine().AppendLine("## Teacher data (from the ledger)").AppendLine();
            AppendMarkdownTable(s, ProvenanceHeaders, ProvenanceRows(report.Provenance));
        }
        foreach (var (file, caption) in plots) s.AppendLine().AppendLine(CultureInfo.InvariantCulture, $"![{caption}]({file})");
        if (report.Samples.Count > 0)
        {
            s.AppendLine().AppendLine("## Samples").AppendLine();
            foreach (var sample in report.Samples)
            {
                s.AppendLine(CultureInfo.InvariantCulture, $"**Prompt:** {sample.Prompt}").AppendLine();
                s.AppendLine(CultureInfo.InvariantCulture, $"- *teacher:* {OneLine(sample.Teacher)}");
                s.AppendLine(CultureInfo.InvariantCulture, $"- *{sample.StudentName}:* {OneLine(sample.Student)}").AppendLine();
            }
        }
        return s.ToString();
    }

    /// <summary>The report as a self-contained HTML page (plots referenced beside it).</summary>
    public static string Html(EvaluationReport report, IReadOnlyList<(string File, string Caption)> plots)
    {
        static string E(string text) => WebUtility.HtmlEncode(text);
        var s = new StringBuilder();
        s.Append("<!doctype html><html><head><meta charset=\"utf-8\"><title>").Append(E(report.Title)).Append("</title><style>")
         .Append("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}table{border-collapse:collapse;margin:1em 0}")
         .Append("th,td{border:1px solid #ccc;padding:4px 10px;text-align:right}th:first-child,td:first-child{text-align:left}")
         .Append("th{background:#f3f3f3}img{max-width:100%;border:1px solid #eee;margin:1em 0}.sample{margin:1em 0;padding:.5em 1em;background:#fafafa}")
         .Append("</style></head><body>");
        s.Append("<h1>").Append(E(report.Title)).Append("</h1><p>Evaluated on ").Append(E(report.Data)).Append(" — ").Append(E(report.Machine))
         .Append(" — ").Append(report.Created.ToString("yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture)).Append(" UTC</p>");
        AppendHtmlTable(s, ReportTable.Headers, ReportTable.Rows(report.Models));
        s.Append("<p><small>").Append(E(ReportTable.Legend)).Append("</small></p>");
        if (report.Provenance.Count > 0)
        {
            s.Append("<h2>Teacher data (from the ledger)</h2>");
            AppendHtmlTable(s, ProvenanceHeaders, ProvenanceRows(report.Provenance));
        }
        foreach (var (file, caption) in plots) s.Append("<figure><img src=\"").Append(E(file)).Append("\" alt=\"").Append(E(caption)).Append("\"><figcaption>").Append(E(caption)).Append("</figcaption></figure>");
        if (report.Samples.Count > 0)
        {
            s.Append("<h2>Samples</h2>");
            foreach (var sample in report.Samples)
                s.Append("<div class=\"sample\"><p><b>Prompt:</b> ").Append(E(sample.Prompt)).Append("</p><p><i>teacher:</i> ").Append(E(sample.Teacher))
                 .Append("</p><p><i>").Append(E(sample.StudentName)).Append(":</i> ").Append(E(sample.Student)).Append("</p></div>");
        }
        return s.Append("</body></html>").ToString();

        static void AppendHtmlTable(StringBuilder s, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
        {
            s.Append("<table><tr>");
            foreach (var h in headers) s.Append("<th>").Append(E(h)).Append("</th>");
            s.Append("</tr>");
            foreach (var row in rows)
            {
                s.Append("<tr>");
                foreach (var cell in row) s.Append("<td>").Append(E(cell)).Append("</td>");
                s.Append("</tr>");
            }
            s.Append("</table>");
        }
    }

    /// <summary>Column headers of the provenance table.</summary>
    public static IReadOnlyList<string> ProvenanceHeaders { get; } = ["teacher", "rows", "prompt tokens", "completion tokens", "share of training tokens", "cost (USD)"];

    /// <summary>The provenance table's cells.</summary>
    public static IReadOnlyList<IReadOnlyList<string>> ProvenanceRows(IReadOnlyList<AuditLine> rows) =>
        rows.Select(r => (IReadOnlyList<string>)
        [
            r.Teacher, r.Rows.ToString(CultureInfo.InvariantCulture), r.PromptTokens.ToString(CultureInfo.InvariantCulture),
            r.CompletionTokens.ToString(CultureInfo.InvariantCulture), (100 * r.Share).ToString("F1", CultureInfo.InvariantCulture) + "%",
            r.CostUsd.ToString("F4", CultureInfo.InvariantCulture),
        ]).ToList();

    private static void AppendMarkdownTable(StringBuilder s, IReadOnlyList<string> headers, IReadOnlyList<IReadOnlyList<string>> rows)
    {
        s.AppendLine("| " + string.Join(" | ", headers) + " |");
        s.AppendLine("|" + string.Concat(headers.Select((_, i) => i == 0 ? " --- |" : " ---: |")));
        foreach (var row in rows) s.AppendLine("| " + string.Join(" | ", row.Select(c => c.Replace("|", "\\|", System.StringComparison.Ordinal))) + " |");
    }

    private static string OneLine(string text) => text.Replace('\n', ' ').Trim();
}
