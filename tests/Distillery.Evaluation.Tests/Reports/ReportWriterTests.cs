using System;
using System.IO;
using System.Linq;
using Distillery.Core.Audit;
using Distillery.Evaluation.Reports;
using Distillery.TestSupport.Files;

namespace Distillery.Evaluation.Tests.Reports;

public sealed class ReportWriterTests : IDisposable
{
    private readonly ScratchFolder scratch = new("report-tests");

    private string _dir => scratch.Path;

    public void Dispose() => scratch.Dispose();

    private EvaluationReport Sample()
    {
        string Metrics(string name, double start)
        {
            var path = Path.Combine(_dir, name + ".jsonl");
            File.WriteAllLines(path, Enumerable.Range(1, 60).Select(s =>
                s % 20 == 0 ? $"{{\"step\":{s},\"eval_loss\":{start / Math.Sqrt(s) + 0.1}}}" : $"{{\"step\":{s},\"loss\":{start / Math.Sqrt(s)},\"lr\":0.001}}"));
            return path;
        }
        return new EvaluationReport
        {
            Title = "Demo",
            Data = "held-out stories (40 prompts)",
            Machine = "2 cores",
            Models =
            [
                new ModelScore { Name = "teacher", Role = "teacher", Parameters = 260_000, FileBytes = 1_000_000, CrossEntropy = 1.2, Perplexity = 3.3, MsPerToken = 0.5 },
                new ModelScore { Name = "SFT", Parameters = 60_000, FileBytes = 240_000, CrossEntropy = 2.0, KlToTeacher = 0.9, Agreement = 0.41, MsPerToken = 0.25, MetricsFile = Metrics("sft", 4) },
                new ModelScore { Name = "forward KL", Parameters = 60_000, FileBytes = 240_000, CrossEntropy = 1.8, KlToTeacher = 0.6, Agreement = 0.52, MsPerToken = 0.25, MetricsFile = Metrics("kd", 3) },
            ],
            Samples = [new SampleComparison("Once upon a time", "there was a girl", "there was a dog", "forward KL")],
            Provenance = [new AuditLine { Teacher = "distill:stories260K", Endpoint = "127.0.0.1", Rows = 400, PromptTokens = 4000, CompletionTokens = 40000, Share = 1.0 }],
        };
    }

    [Fact]
    public void Writes_markdown_html_and_three_plots()
    {
        var files = ReportWriter.Write(Sample(), _dir);
        Assert.Equal(["report.md", "report.html", "scores.json", "loss_curves.png", "quality_vs_size.png", "quality_vs_speed.png", "best_student.json"], files.Select(Path.GetFileName));
        Assert.Contains("\"name\":\"forward KL\"", File.ReadAllText(files[^1])); // lowest KL to the teacher
        foreach (var png in files.Where(f => f.EndsWith(".png", StringComparison.Ordinal)))
        {
            var bytes = File.ReadAllBytes(png);
            Assert.True(bytes.Length > 10_000, $"{png} is suspiciously small");
            Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        }
        var md = File.ReadAllText(files[0]);
        Assert.Contains("| forward KL | 60.0K |", md);
        Assert.Contains("distill:stories260K", md);
        Assert.Contains("100.0%", md);
        Assert.Contains("4.3×", md); // 260K / 60K parameters
        Assert.Contains("2.0×", md); // 0.5 / 0.25 ms per token
        var html = File.ReadAllText(files[1]);
        Assert.Contains("<img src=\"loss_curves.png\"", html);
        Assert.Contains("there was a dog", html);
    }

    [Fact]
    public void Markup_in_samples_is_escaped_in_html()
    {
        var report = Sample() with { Samples = [new SampleComparison("<script>", "a & b", "c", "s")] };
        var html = ReportWriter.Html(report, []);
        Assert.Contains("&lt;script&gt;", html);
        Assert.DoesNotContain("<script>", html);
    }
}
