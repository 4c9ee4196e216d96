using System.Collections.Generic;
using Distillery.Core.Errors;
using Distillery.Evaluation;

namespace Distillery.Pipeline;

/// <summary>What <see cref="DistilleryPipeline.EvaluateAsync"/> does: which models are scored on which held-out data, and where the report goes.</summary>
public sealed record EvaluateOptions : PipelineOptions
{
    /// <summary>The models to score, each a display name and a model spec.</summary>
    public required IReadOnlyList<NamedModel> Models { get; init; }

    /// <summary>A local teacher, for KL and agreement; null scores the models on the data alone.</summary>
    public NamedModel? Teacher { get; init; }

    /// <summary>Held-out data: a dataset folder, JSONL (messages, question and answer, or text) or a .txt file.</summary>
    public required string Data { get; init; }

    /// <summary>The most examples used (at least 1).</summary>
    public int Limit { get; init; } = 200;

    /// <summary>Side-by-side samples in the report (0 or more).</summary>
    public int Samples { get; init; } = 3;

    /// <summary>How each model is scored (chat template, answer and latency lengths).</summary>
    public EvalOptions Scoring { get; init; } = new();

    /// <summary>A folder for report.md, report.html, scores and plots; null writes no report.</summary>
    public string? ReportDirectory { get; init; }

    /// <summary>Throws an <see cref="InputException"/> naming the option where a count is out of range.</summary>
    public EvaluateOptions Validate()
    {
        if (Models is null or { Count: 0 }) throw InputException.InField("--model", "give at least one model to evaluate");
        if (Limit < 1) throw InputException.InField("--limit", "must be at least 1");
        if (Samples < 0) throw InputException.InField("--samples", "must not be negative");
        return this;
    }
}
