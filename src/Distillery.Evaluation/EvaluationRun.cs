using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Core.Audit;
using Distillery.Core.Chat;
using Distillery.Core.Metrics;
using Distillery.Core.Provenance;
using Distillery.Evaluation.Data;
using Distillery.Evaluation.Reports;
using Distillery.Models.Loading;
using Distillery.Models.Runtime;
using Distillery.Models.Tokenizers;

namespace Distillery.Evaluation;

/// <summary>A model to evaluate: a display name and a model spec.</summary>
public sealed record NamedModel(string Name, string Spec)
{
    /// <summary>Parses <c>NAME=SPEC</c>, or a bare spec named after its file or folder.</summary>
    public static NamedModel Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var eq = text.IndexOf('=', StringComparison.Ordinal);
        if (eq > 0) return new NamedModel(text[..eq], text[(eq + 1)..]);
        return new NamedModel(ModelLoader.NameOf(text), text);
    }
}

/// <summary>Evaluates a teacher and its students on one data set and assembles the report: scores, samples and provenance.</summary>
public static class EvaluationRun
{
    /// <summary>Loads each model in turn, scores it, and returns the report (not yet written).</summary>
    public static async Task<EvaluationReport> RunAsync(NamedModel? teacher, IReadOnlyList<NamedModel> students, string dataPath, int limit, int samples,
        EvalOptions? options = null, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(students);
        var device = (options?.Device ?? DeviceSpec.Cpu).Resolve(); // a device this machine lacks is refused before any work
        var data = await EvalDataLoader.LoadAsync(dataPath, limit, cancellationToken);
        var scores = new List<ModelScore>();
        var chatTemplate = options?.ChatTemplate ?? ChatTemplateChoice.None;
        using var teacherBundle = teacher is null ? null : (await ModelLoader.LoadAsync(teacher.Spec, cancellationToken: cancellationToken)).MoveTo(device);
        if (teacherBundle is not null) chatTemplate.ApplyTo(teacherBundle);
        if (teacher is not null)
        {
            progress?.Report($"evaluating teacher {teacher.Name}");
            scores.Add(LanguageModelEvaluator.Evaluate(teacher.Name, "teacher", teacherBundle!, null, data, options, cancellationToken));
        }
        var prompts = data.OfType<ChatExample>().Take(samples).ToList();
        var comparisons = new List<SampleComparison>();
        var provenance = new List<AuditLine>();
        foreach (var student in students)
        {
            progress?.Report($"evaluating {student.Name}");
            using var bundle = (await ModelLoader.LoadAsync(student.Spec, cancellationToken: cancellationToken)).MoveTo(device);
            chatTemplate.ApplyTo(bundle);
            scores.Add(LanguageModelEvaluator.Evaluate(student.Name, "student", bundle, teacherBundle, data, options, cancellationToken) with
            {
                MetricsFile = MetricsPathOf(student.Spec),
            });
            if (comparisons.Count == 0 && prompts.Count > 0)
                comparisons.AddRange(prompts.Select(p => new SampleComparison(
                    string.Join(" / ", p.Prompt.Select(m => m.Content)),
                    teacherBundle is null ? p.Reference : Complete(teacherBundle, p.Prompt, cancellationToken),
                    Complete(bundle, p.Prompt, cancellationToken),
                    student.Name)));
            if (provenance.Count == 0 && ModelFolder(student.Spec) is { } folder && LineageFile.ExistsIn(folder))
                provenance.AddRange((await Auditor.AuditAsync(folder, cancellationToken)).Teachers);
        }
        return new EvaluationReport
        {
            Title = "Distillery evaluation",
            Data = $"{dataPath} ({data.Count} examples)",
            Models = scores,
            Samples = comparisons,
            Provenance = provenance,
            Machine = $"{Environment.ProcessorCount} CPU threads, {RuntimeInformation.OSDescription}",
        };
    }

    private static string Complete(ModelBundle model, IReadOnlyList<ChatMessage> prompt, CancellationToken cancellationToken) =>
        model.GenerateChat(prompt, new SamplingParameters { Temperature = 0, MaxTokens = 48 }, cancellationToken: cancellationToken).Text;

    private static string? ModelFolder(string spec) => Directory.Exists(ModelLoader.PathOf(spec)) ? ModelLoader.PathOf(spec) : null;

    private static string? MetricsPathOf(string spec) =>
        ModelFolder(spec) is { } folder && File.Exists(MetricsFile.PathIn(folder)) ? MetricsFile.PathIn(folder) : null;
}
