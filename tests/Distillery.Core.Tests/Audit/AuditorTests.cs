using System;
using System.IO;
using System.Linq;
using System.Threading.Tasks;
using Distillery.Core.Audit;
using Distillery.Core.Datasets;
using Distillery.Core.Errors;
using Distillery.Core.Tests.Datasets;
using Distillery.TestSupport.Files;

namespace Distillery.Core.Tests.Audit;

public sealed class AuditorTests
{
    private static async Task WriteDatasetAsync(string dir, params DatasetRow[] rows)
    {
        await using var writer = await DatasetWriter.OpenAsync(dir);
        foreach (var row in rows) await writer.AppendAsync(row);
    }

    [Fact]
    public async Task A_dataset_audit_gives_each_teachers_rows_tokens_share_cost_and_dates()
    {
        using var dir = new ScratchFolder();
        var day = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero);
        await WriteDatasetAsync(dir.Path,
            DatasetTests.Row("a", completionTokens: 30, cost: 0.01m, at: day),
            DatasetTests.Row("b", completionTokens: 30, cost: 0.02m, at: day.AddDays(3)),
            DatasetTests.Row("c", provider: "gguf", model: "tiny", completionTokens: 40, cost: 0));

        var report = await Auditor.AuditAsync(dir.Path);

        Assert.Equal("dataset", report.Kind);
        Assert.Equal(100, report.TrainingTokens);
        var openai = report.Teachers.Single(t => t.Teacher == "openai:gpt-x");
        Assert.Equal(2, openai.Rows);
        Assert.Equal(60, openai.CompletionTokens);
        Assert.Equal(10, openai.PromptTokens);
        Assert.Equal(0.6, openai.Share, 9);
        Assert.Equal(0.03m, openai.CostUsd);
        Assert.Equal(day, openai.First);
        Assert.Equal(day.AddDays(3), openai.Last);
        Assert.Equal(["gpt-x-2026"], openai.ModelsReported);
        Assert.Equal(0.4, report.Teachers.Single(t => t.Teacher == "gguf:tiny").Share, 9);
    }

    [Fact]
    public async Task A_model_audit_counts_the_datasets_its_lineage_lists_against_all_its_training_tokens()
    {
        using var dir = new ScratchFolder();
        await WriteDatasetAsync(dir.File("teacher-data"), DatasetTests.Row("a", completionTokens: 25));
        await WriteDatasetAsync(dir.File("plain"), new DatasetRow([new("user", "q"), new("assistant", new string('x', 300))], null));
        var model = dir.File("student");
        Directory.CreateDirectory(model);
        await File.WriteAllTextAsync(Path.Combine(model, "distillery.json"), """{"datasets":["../teacher-data",{"path":"../plain","manifest_sha256":"00"}]}""");

        var report = await Auditor.AuditAsync(model);

        Assert.Equal("model", report.Kind);
        Assert.Equal(2, report.Datasets.Count);
        Assert.Equal(100, report.TrainingTokens);
        Assert.Equal(0.25, report.Teachers.Single(t => t.Teacher == "openai:gpt-x").Share, 9);
        Assert.Equal(0.75, report.Teachers.Single(t => t.Teacher == "(no teacher)").Share, 9);
    }

    [Fact]
    public async Task A_folder_that_is_neither_is_an_input_error()
    {
        using var dir = new ScratchFolder();
        var e = await Assert.ThrowsAsync<InputException>(() => Auditor.AuditAsync(dir.Path));
        Assert.Contains("neither a dataset folder", e.Message, StringComparison.Ordinal);
        await File.WriteAllTextAsync(dir.File("distillery.json"), """{"datasets":["missing"]}""");
        e = await Assert.ThrowsAsync<InputException>(() => Auditor.AuditAsync(dir.Path));
        Assert.StartsWith($"{dir.File("distillery.json")} datasets[0]:", e.Message, StringComparison.Ordinal);
    }
}
