using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;

namespace Distillery.Core.Audit;

/// <summary>The extent of each teacher's contribution to a dataset or to a model's training data.</summary>
public sealed record AuditReport
{
    /// <summary>The folder audited.</summary>
    [JsonPropertyName("target")] public required string Target { get; init; }

    /// <summary>"dataset" or "model".</summary>
    [JsonPropertyName("kind")] public required string Kind { get; init; }

    /// <summary>The dataset folders counted.</summary>
    [JsonPropertyName("datasets")] public IReadOnlyList<string> Datasets { get; init; } = [];

    /// <summary>Training tokens over all counted rows: completion tokens, the ones the student learns to predict (prompt tokens are masked from every loss).</summary>
    [JsonPropertyName("training_tokens")] public long TrainingTokens { get; init; }

    /// <summary>One line per teacher.</summary>
    [JsonPropertyName("teachers")] public IReadOnlyList<AuditLine> Teachers { get; init; } = [];

    /// <summary>A model's on-policy samples scored by a teacher behind an API, from its ledger; null where none were.</summary>
    [JsonPropertyName("on_policy_scoring")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public AuditScoringLine? OnPolicyScoring { get; init; }
}

/// <summary>An API teacher's scoring of a model's on-policy samples: the requests its ledger holds answered for that endpoint, their tokens and cost.</summary>
public sealed record AuditScoringLine
{
    /// <summary>The teacher as <c>provider:model</c>.</summary>
    [JsonPropertyName("teacher")] public required string Teacher { get; init; }

    /// <summary>The scoring endpoint (the <c>/completions</c> URL).</summary>
    [JsonPropertyName("endpoint")] public required string Endpoint { get; init; }

    /// <summary>The ledger read.</summary>
    [JsonPropertyName("ledger")] public required string Ledger { get; init; }

    /// <summary>Scoring requests answered (each paid once).</summary>
    [JsonPropertyName("requests")] public int Requests { get; init; }

    /// <summary>Tokens scored (the texts' prompt tokens).</summary>
    [JsonPropertyName("prompt_tokens")] public long PromptTokens { get; init; }

    /// <summary>Cost in US dollars.</summary>
    [JsonPropertyName("cost_usd")] public decimal CostUsd { get; init; }

    /// <summary>The earliest answer.</summary>
    [JsonPropertyName("first")] public DateTimeOffset? First { get; init; }

    /// <summary>The latest answer.</summary>
    [JsonPropertyName("last")] public DateTimeOffset? Last { get; init; }
}

/// <summary>One teacher's extent: rows, tokens, share of the training tokens, cost and dates.</summary>
public sealed record AuditLine
{
    /// <summary>The teacher as <c>provider:model</c> (the model asked for).</summary>
    [JsonPropertyName("teacher")] public required string Teacher { get; init; }

    /// <summary>The models the server reported.</summary>
    [JsonPropertyName("models_reported")] public IReadOnlyList<string> ModelsReported { get; init; } = [];

    /// <summary>The endpoint.</summary>
    [JsonPropertyName("endpoint")] public required string Endpoint { get; init; }

    /// <summary>Rows.</summary>
    [JsonPropertyName("rows")] public int Rows { get; init; }

    /// <summary>Prompt tokens.</summary>
    [JsonPropertyName("prompt_tokens")] public long PromptTokens { get; init; }

    /// <summary>Completion tokens.</summary>
    [JsonPropertyName("completion_tokens")] public long CompletionTokens { get; init; }

    /// <summary>This teacher's completion tokens over all training tokens, 0 to 1.</summary>
    [JsonPropertyName("share")] public double Share { get; init; }

    /// <summary>Cost in US dollars.</summary>
    [JsonPropertyName("cost_usd")] public decimal CostUsd { get; init; }

    /// <summary>The earliest row.</summary>
    [JsonPropertyName("first")] public DateTimeOffset? First { get; init; }

    /// <summary>The latest row.</summary>
    [JsonPropertyName("last")] public DateTimeOffset? Last { get; init; }
}
