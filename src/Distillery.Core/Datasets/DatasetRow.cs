using System;
using System.Collections.Generic;
using System.Text.Json;
using System.Text.Json.Serialization;
using Distillery.Core.Chat;
using Distillery.Core.Datasets.Sidecar;
using Distillery.Core.Tokens;

namespace Distillery.Core.Datasets;

/// <summary>One line of <c>data.jsonl</c>: an OpenAI chat fine-tuning row (<c>messages</c>, ending with the assistant's answer) plus the <c>distillery</c> provenance field.</summary>
public sealed record DatasetRow(
    [property: JsonPropertyName("messages")] IReadOnlyList<ChatMessage> Messages,
    [property: JsonPropertyName("distillery")] RowProvenance? Distillery);

/// <summary>Where a row came from: the prompt, the teacher, the completion's tokens, usage, cost, ledger hash and time.</summary>
public sealed record RowProvenance
{
    /// <summary>The prompt's id in the prompts file.</summary>
    [JsonPropertyName("prompt_id")] public required string PromptId { get; init; }

    /// <summary>Which of the prompt's samples this row is (0 for the first).</summary>
    [JsonPropertyName("sample")] public int Sample { get; init; }

    /// <summary>The prompt's <c>meta</c>, carried through unchanged.</summary>
    [JsonPropertyName("meta")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonElement? Meta { get; init; }

    /// <summary>The teacher that answered.</summary>
    [JsonPropertyName("teacher")] public required RowTeacher Teacher { get; init; }

    /// <summary>Why the completion stopped ("stop", "length", ...).</summary>
    [JsonPropertyName("finish_reason")] public string FinishReason { get; init; } = "";

    /// <summary>The completion's tokens with their logprobs and top-k alternatives; written inline only by old versions, now kept in the sidecar (<see cref="Logprobs"/>) and filled in when read.</summary>
    [JsonPropertyName("tokens")] public IReadOnlyList<TokenLogprob> Tokens { get; init; } = [];

    /// <summary>Where <see cref="Tokens"/> lie in the folder's <c>logprobs.bin</c>; null when they are inline or absent.</summary>
    [JsonPropertyName("logprobs")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public LogprobsRef? Logprobs { get; init; }

    /// <summary>The tokens the request used, as the teacher counted them.</summary>
    [JsonPropertyName("usage")] public TokenUsage Usage { get; init; } = TokenUsage.Zero;

    /// <summary>What the request cost in US dollars at the prices given, or 0 when none were.</summary>
    [JsonPropertyName("cost_usd")] public decimal CostUsd { get; init; }

    /// <summary>The ledger key of the request that produced this row.</summary>
    [JsonPropertyName("request_hash")] public required string RequestHash { get; init; }

    /// <summary>When the teacher's answer was received (UTC).</summary>
    [JsonPropertyName("timestamp")] public DateTimeOffset Timestamp { get; init; }
}

/// <summary>The teacher of a row: provider, model as the server reported it, the model asked for, the endpoint, and the sampling parameters.</summary>
public sealed record RowTeacher
{
    /// <summary>The provider ("openai", "gguf", "checkpoint", "llama2c").</summary>
    [JsonPropertyName("provider")] public required string Provider { get; init; }

    /// <summary>The model as the server reported it in its response.</summary>
    [JsonPropertyName("model")] public required string Model { get; init; }

    /// <summary>The model named in the teacher spec.</summary>
    [JsonPropertyName("requested_model")] public required string RequestedModel { get; init; }

    /// <summary>The endpoint: base URL of an API teacher or the file of a local one.</summary>
    [JsonPropertyName("endpoint")] public required string Endpoint { get; init; }

    /// <summary>The pool endpoint that answered, by its name in the endpoints file; null for a teacher without a pool (<see cref="Endpoint"/> is then where it was sent).</summary>
    [JsonPropertyName("answered_by")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? AnsweredBy { get; init; }

    /// <summary>The sampling parameters the request was sent with.</summary>
    [JsonPropertyName("sampling")] public required SamplingParameters Sampling { get; init; }
}
