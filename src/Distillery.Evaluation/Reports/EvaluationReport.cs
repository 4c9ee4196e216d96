using System;
using System.Collections.Generic;
using Distillery.Core.Audit;

namespace Distillery.Evaluation.Reports;

/// <summary>Everything a report shows: each model's scores, side-by-side samples, and which teacher data made the students.</summary>
public sealed record EvaluationReport
{
    /// <summary>The report's heading.</summary>
    public string Title { get; init; } = "Distillery evaluation";

    /// <summary>What the models were evaluated on (file and split).</summary>
    public string Data { get; init; } = "";

    /// <summary>The teacher first, then the students.</summary>
    public IReadOnlyList<ModelScore> Models { get; init; } = [];

    /// <summary>Teacher and student answers to the same prompts.</summary>
    public IReadOnlyList<SampleComparison> Samples { get; init; } = [];

    /// <summary>Each teacher's contribution to the training data, as the audit of the students' lineage reports it.</summary>
    public IReadOnlyList<AuditLine> Provenance { get; init; } = [];

    /// <summary>The machine the figures were measured on.</summary>
    public string Machine { get; init; } = "";

    /// <summary>When the report was made.</summary>
    public DateTimeOffset Created { get; init; } = DateTimeOffset.UtcNow;
}

/// <summary>One model's figures; a null figure was not measured.</summary>
public sealed record ModelScore
{
    /// <summary>A short display name, such as "student (forward KL)".</summary>
    public required string Name { get; init; }

    /// <summary>"teacher" or "student".</summary>
    public string Role { get; init; } = "student";

    /// <summary>The model spec it was loaded from.</summary>
    public string Spec { get; init; } = "";

    /// <summary>Parameter count.</summary>
    public long Parameters { get; init; }

    /// <summary>Size on disk of the weights, in bytes.</summary>
    public long? FileBytes { get; init; }

    /// <summary>Mean cross-entropy per token on the held-out text (nats).</summary>
    public double? CrossEntropy { get; init; }

    /// <summary>exp(cross-entropy).</summary>
    public double? Perplexity { get; init; }

    /// <summary>Cross-entropy of the held-out completions (assistant text only) in bits per UTF-8 byte: comparable across tokenizers.</summary>
    public double? BitsPerByte { get; init; }

    /// <summary>Mean KL(teacher ‖ model) per token on held-out prompts (nats); only where the model shares the teacher's vocabulary.</summary>
    public double? KlToTeacher { get; init; }

    /// <summary>Sample-level reverse KL: mean log q − log p per token of the model's own samples at temperature 1 on held-out prompts (nats).</summary>
    public double? SampleReverseKl { get; init; }

    /// <summary>Share of positions where the model's top token equals the teacher's.</summary>
    public double? Agreement { get; init; }

    /// <summary>Where the model's tokenizer differs from the teacher's: the share of one-to-one chunks where their top-1 choices spell the same bytes.</summary>
    public double? ChunkAgreement { get; init; }

    /// <summary>Share of exact final answers, for data with reference answers.</summary>
    public double? ExactMatch { get; init; }

    /// <summary>Greedy decoding latency, milliseconds per token, single stream.</summary>
    public double? MsPerToken { get; init; }

    /// <summary>The training run's metrics.jsonl, for loss curves.</summary>
    public string? MetricsFile { get; init; }
}

/// <summary>Teacher and student completions of one held-out prompt.</summary>
public sealed record SampleComparison(string Prompt, string Teacher, string Student, string StudentName);
