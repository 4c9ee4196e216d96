using System;
using System.Collections.Generic;
using System.Text.Json.Serialization;
using Distillery.Core.Chat;

namespace Distillery.Core.Datasets;

/// <summary>The record of how a dataset folder was made: <c>manifest.json</c>.</summary>
public sealed record DatasetManifest
{
    /// <summary>The format name and version.</summary>
    [JsonPropertyName("format")] public string Format { get; init; } = "distillery-dataset/1";

    /// <summary>When the last generation run into this folder finished (UTC).</summary>
    [JsonPropertyName("updated")] public DateTimeOffset Updated { get; init; }

    /// <summary>The prompts file of the last run.</summary>
    [JsonPropertyName("prompts")] public ManifestPrompts? Prompts { get; init; }

    /// <summary>Samples asked per prompt.</summary>
    [JsonPropertyName("samples")] public int Samples { get; init; } = 1;

    /// <summary>Each teacher's contribution, computed from the rows.</summary>
    [JsonPropertyName("teachers")] public IReadOnlyList<TeacherContribution> Teachers { get; init; } = [];

    /// <summary>Row and request counts of the last run.</summary>
    [JsonPropertyName("counts")] public ManifestCounts Counts { get; init; } = new();

    /// <summary>Tokens over all rows.</summary>
    [JsonPropertyName("tokens")] public TokenUsage Tokens { get; init; } = TokenUsage.Zero;

    /// <summary>Cost of all rows in US dollars at the prices given.</summary>
    [JsonPropertyName("cost_usd")] public decimal CostUsd { get; init; }

    /// <summary>The terms-policy decisions taken for the teachers.</summary>
    [JsonPropertyName("policy")] public IReadOnlyList<PolicyRecord> Policy { get; init; } = [];
}

/// <summary>The prompts file a dataset was generated from.</summary>
public sealed record ManifestPrompts(
    [property: JsonPropertyName("path")] string Path,
    [property: JsonPropertyName("sha256")] string Sha256,
    [property: JsonPropertyName("count")] int Count);

/// <summary>Counts of a generation run.</summary>
public sealed record ManifestCounts
{
    /// <summary>Rows in <c>data.jsonl</c>.</summary>
    [JsonPropertyName("rows")] public int Rows { get; init; }

    /// <summary>Requests the teacher answered in the last run.</summary>
    [JsonPropertyName("answered")] public int Answered { get; init; }

    /// <summary>Rows of the last run taken from the ledger instead of asking the teacher again.</summary>
    [JsonPropertyName("from_ledger")] public int FromLedger { get; init; }

    /// <summary>Rows already in <c>data.jsonl</c> when the last run started.</summary>
    [JsonPropertyName("already_present")] public int AlreadyPresent { get; init; }

    /// <summary>Requests of the last run that failed.</summary>
    [JsonPropertyName("failed")] public int Failed { get; init; }

    /// <summary>Requests of the last run not sent (budget reached or interrupted).</summary>
    [JsonPropertyName("not_sent")] public int NotSent { get; init; }

    /// <summary>Retries the last run made.</summary>
    [JsonPropertyName("retries")] public int Retries { get; init; }
}

/// <summary>One teacher's part in a dataset: rows, tokens, cost and dates.</summary>
public sealed record TeacherContribution
{
    /// <summary>The provider.</summary>
    [JsonPropertyName("provider")] public required string Provider { get; init; }

    /// <summary>The model named in the spec.</summary>
    [JsonPropertyName("requested_model")] public required string RequestedModel { get; init; }

    /// <summary>The models the server reported.</summary>
    [JsonPropertyName("models_reported")] public IReadOnlyList<string> ModelsReported { get; init; } = [];

    /// <summary>The endpoint.</summary>
    [JsonPropertyName("endpoint")] public required string Endpoint { get; init; }

    /// <summary>Rows.</summary>
    [JsonPropertyName("rows")] public int Rows { get; init; }

    /// <summary>Prompt and completion tokens.</summary>
    [JsonPropertyName("tokens")] public TokenUsage Tokens { get; init; } = TokenUsage.Zero;

    /// <summary>Cost in US dollars.</summary>
    [JsonPropertyName("cost_usd")] public decimal CostUsd { get; init; }

    /// <summary>The earliest row.</summary>
    [JsonPropertyName("first")] public DateTimeOffset? First { get; init; }

    /// <summary>The latest row.</summary>
    [JsonPropertyName("last")] public DateTimeOffset? Last { get; init; }

    /// <summary>The teacher as <c>provider:model</c>.</summary>
    public override string ToString() => $"{Provider}:{RequestedModel}";
}

/// <summary>A terms-policy decision recorded in a manifest.</summary>
public sealed record PolicyRecord(
    [property: JsonPropertyName("teacher")] string Teacher,
    [property: JsonPropertyName("decision")] string Decision,
    [property: JsonPropertyName("rule")] string Rule,
    [property: JsonPropertyName("note")] string? Note);
