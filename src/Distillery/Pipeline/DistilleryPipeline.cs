using System;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Distillery.Evaluation;
using Distillery.Evaluation.Reports;
using Distillery.Models.Checkpoints;
using Distillery.Models.Gguf;
using Distillery.Models.Loading;
using Distillery.Models.Tokenizers;
using Distillery.Teachers;
using Distillery.Teachers.Labeling;
using Distillery.Training.Language;
using Distillery.Training.Language.Configuration;
using Distillery.Training.Trainer;
using Microsoft.Extensions.Logging;
using static TorchSharp.torch;

namespace Distillery.Pipeline;

/// <summary>
/// The steps of <c>distill run</c> from C#: a teacher labels prompts (<see cref="GenerateAsync"/>), a student learns from them
/// (<see cref="TrainAsync"/>), models are scored (<see cref="EvaluateAsync"/>) and exported (<see cref="ExportAsync"/>).
/// The <c>distill</c> verbs are thin wrappers over these methods.
/// </summary>
public static class DistilleryPipeline
{
    /// <summary>Asks the teacher to answer every prompt, streaming rows with token logprobs into a dataset folder through the ledger (resumable, never paying twice); with <see cref="GenerateOptions.Batch"/>, through the OpenAI Batch API at batch prices.</summary>
    public static async Task<GenerateResult> GenerateAsync(GenerateOptions options, IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var log = LoggerFor(options);
        // The wrappers built from the settings count retries into the settings' statistics; the summary reports them.
        var labeling = options.Labeling with { Statistics = options.Labeling.Statistics ?? options.TeacherSettings.Statistics };
        await using var batch = options.Batch is { } settings
            ? await TeacherFactory.CreateBatchAsync(options.TeacherSpec ?? throw new ArgumentException("a batch needs a TeacherSpec", nameof(options)), options.TeacherSettings,
                labeling.LedgerLocation, settings, progress: options.BatchProgress, cancellationToken: cancellationToken)
            : null;
        // A batch takes every request at once, at the Batch API's price.
        if (batch is not null) labeling = labeling.ThroughBatch();
        var teacher = batch ?? options.Teacher ?? await TeacherFactory.CreateAsync(
            options.TeacherSpec ?? throw new ArgumentException("give a TeacherSpec or a Teacher", nameof(options)), options.TeacherSettings, cancellationToken);
        PipelineLog.GenerateStarted(log, teacher.Identity.ToString(), labeling.PromptsPath, labeling.OutputDirectory);
        var summary = await new LabelingRunner(teacher, labeling).RunAsync(MappedProgress<LabelingProgress>.To(progress, ProgressText.Generate), cancellationToken);
        PipelineLog.GenerateFinished(log, summary.RowsDone, summary.RowsTotal, summary.Answered, summary.FromLedger, summary.Failed, summary.CompletionTokens,
            summary.CostUsd, summary.Elapsed);
        return new GenerateResult(labeling.OutputDirectory, summary);
    }

    /// <summary>Trains a student on a dataset folder and writes it as a model folder with its lineage; the loss curves are plotted also after cancellation, which saves a resume state.</summary>
    public static async Task<LmTrainingReport> TrainAsync(TrainOptions options, IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var log = LoggerFor(options);
        var config = options.Config.Validate();
        PipelineLog.TrainStarted(log, config.Mode.Name(), config.Data, config.Out, config.Steps);
        LmTrainingReport report;
        try
        {
            var trainingProgress = MappedProgress<TrainingProgress>.To(progress, p => ProgressText.Train(p, config.Mode));
            if (config.HasApiTeacher)
            {
                await using var scoring = await ApiTeacherScoring.OpenAsync(options, cancellationToken);
                report = await LmTraining.RunAsync(config, scoring.Teacher, trainingProgress, cancellationToken);
            }
            else
            {
                report = await LmTraining.RunAsync(config, trainingProgress, cancellationToken);
            }
        }
        finally
        {
            LossCurvePlot.WriteForRun(config.Out); // also after Ctrl-C: the curves so far
        }
        PipelineLog.TrainFinished(log, report.Result.Steps, report.Result.FinalLoss, report.EvalCrossEntropy, report.ModelDirectory);
        return report;
    }

    /// <summary>Scores each model (and the teacher) on held-out data: cross-entropy, bits per byte, KL to the teacher, agreement, exact match, latency, size; writes the report where asked.</summary>
    public static async Task<EvaluateResult> EvaluateAsync(EvaluateOptions options, IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var log = LoggerFor(options);
        PipelineLog.EvaluateStarted(log, options.Models.Count, options.Data);
        var report = await EvaluationRun.RunAsync(options.Teacher, options.Models, options.Data, options.Limit, options.Samples, options.Scoring,
            MappedProgress<string>.To(progress, s => new PipelineProgress(PipelineStage.Evaluate, s)), cancellationToken);
        foreach (var score in report.Models) PipelineLog.ModelScored(log, score.Name, score.CrossEntropy);
        var files = options.ReportDirectory is { } directory ? ReportWriter.Write(report, directory) : [];
        return new EvaluateResult(report, files);
    }

    /// <summary>Writes a model as GGUF (for llama.cpp and Ollama) or as a Hugging Face safetensors folder; with <see cref="ExportOptions.Verify"/>, llama.cpp runs the GGUF.</summary>
    public static async Task<ExportResult> ExportAsync(ExportOptions options, IProgress<PipelineProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var log = LoggerFor(options);
        var source = await ResolveBestOfAsync(options.Model, cancellationToken);
        PipelineLog.ExportStarted(log, source, options.Format, options.WeightType, options.Output);
        progress?.Report(new PipelineProgress(PipelineStage.Export, $"loading {source}"));
        using var bundle = await ModelLoader.LoadAsync(source, options.Tokenizer, cancellationToken);
        options.ChatTemplate.ApplyTo(bundle);
        progress?.Report(new PipelineProgress(PipelineStage.Export, $"writing {options.Output}"));
        var result = options.Format == ExportFormat.Gguf
            ? WriteGguf(bundle, source, options, progress)
            : await WriteSafetensorsAsync(bundle, source, options, cancellationToken);
        PipelineLog.ExportFinished(log, result.Bytes, result.Check is { } c ? $"{c.SamePrefix}/{c.Tokens} tokens identical" : "not run");
        return result;
    }

    private static ExportResult WriteGguf(ModelBundle bundle, string source, ExportOptions options, IProgress<PipelineProgress>? progress)
    {
        var type = options.WeightType switch { ExportWeightType.F16 => GgmlType.F16, ExportWeightType.Q8_0 => GgmlType.Q8_0, _ => GgmlType.F32 };
        LlamaGguf.Export(bundle.Model, bundle.Tokenizer, options.Output, type, ModelLoader.NameOf(source), bundle.ChatTemplate.Source);
        GgufCheck? check = null;
        if (options.Verify)
        {
            progress?.Report(new PipelineProgress(PipelineStage.Export, "running the GGUF in llama.cpp"));
            check = type == GgmlType.Q8_0 ? GgufVerification.Quantised(bundle, options.Output) : GgufVerification.Exact(bundle, options.Output);
        }
        return new ExportResult(options.Output, source, options.Format, options.WeightType, new FileInfo(options.Output).Length, LlamaGguf.ArchitectureOf(bundle.Config), check);
    }

    private static async Task<ExportResult> WriteSafetensorsAsync(ModelBundle bundle, string source, ExportOptions options, CancellationToken cancellationToken)
    {
        var dtype = options.WeightType switch { ExportWeightType.F16 => ScalarType.Float16, ExportWeightType.BF16 => ScalarType.BFloat16, _ => ScalarType.Float32 };
        await bundle.SaveAsync(options.Output, cancellationToken: cancellationToken, dtype: dtype);
        // What transformers and transformers.js read beside the weights: tokenizer.json, tokenizer_config.json with the template, generation_config.json.
        var eosIds = bundle.Config.EosTokenIds.Count > 0 ? bundle.Config.EosTokenIds : [.. bundle.Tokenizer.StopIds.Order()];
        await HfTokenizerFiles.WriteAsync(options.Output, bundle.Tokenizer, bundle.ChatTemplate, bundle.Config.MaxPositionEmbeddings, eosIds, cancellationToken);
        await CheckpointFolder.WriteGenerationConfigAsync(options.Output, bundle.Config, bundle.Tokenizer.BosId, eosIds, cancellationToken);
        var bytes = new DirectoryInfo(options.Output).EnumerateFiles("*", SearchOption.AllDirectories).Sum(f => f.Length);
        return new ExportResult(options.Output, source, options.Format, options.WeightType, bytes, null, null);
    }

    /// <summary>Resolves <c>best-of:REPORT_DIR</c> to the spec of the best student an evaluation report names.</summary>
    private static async Task<string> ResolveBestOfAsync(string spec, CancellationToken cancellationToken)
    {
        if (!spec.StartsWith("best-of:", StringComparison.Ordinal)) return spec;
        return (await BestStudent.ReadAsync(spec["best-of:".Length..], cancellationToken)).Spec;
    }

    private static ILogger LoggerFor(PipelineOptions options) => (options.LoggerFactory ?? throw new ArgumentException("LoggerFactory must not be null", nameof(options)))
        .CreateLogger(typeof(DistilleryPipeline).FullName!);
}
