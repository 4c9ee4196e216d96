using System.Collections.Generic;
using System.Text.Json.Serialization;
using Distillery.Core.Tokens;

namespace Distillery.Server.Protocol;

/// <summary>A <c>chat.completion</c> response.</summary>
public sealed record ChatCompletionResponse(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChatChoice> Choices,
    [property: JsonPropertyName("usage")] Usage Usage)
{
    /// <summary>Always <c>chat.completion</c>.</summary>
    [JsonPropertyName("object")] public string Object => "chat.completion";

    /// <summary>Identifies the server build that produced the answer.</summary>
    [JsonPropertyName("system_fingerprint")] public string SystemFingerprint => ServerInfo.Fingerprint;
}

/// <summary>One choice of a chat completion.</summary>
public sealed record ChatChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("message")] AssistantMessage Message,
    [property: JsonPropertyName("logprobs")] ChoiceLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string FinishReason);

/// <summary>The assistant's message in a choice.</summary>
public sealed record AssistantMessage([property: JsonPropertyName("content")] string Content)
{
    /// <summary>Always <c>assistant</c>.</summary>
    [JsonPropertyName("role")] public string Role => "assistant";

    /// <summary>Always null: the model answered.</summary>
    [JsonPropertyName("refusal")] public string? Refusal => null;
}

/// <summary>Per-token logprobs of a choice.</summary>
public sealed record ChoiceLogprobs([property: JsonPropertyName("content")] IReadOnlyList<TokenLogprob> Content)
{
    /// <summary>Always null: no refusal tokens.</summary>
    [JsonPropertyName("refusal")] public IReadOnlyList<TokenLogprob>? Refusal => null;
}

/// <summary>Token counts of a request.</summary>
public sealed record Usage(
    [property: JsonPropertyName("prompt_tokens")] int PromptTokens,
    [property: JsonPropertyName("completion_tokens")] int CompletionTokens)
{
    /// <summary>Prompt plus completion tokens.</summary>
    [JsonPropertyName("total_tokens")] public int TotalTokens => PromptTokens + CompletionTokens;
}

/// <summary>A <c>chat.completion.chunk</c> streamed as a server-sent event.</summary>
public sealed record ChatCompletionChunk(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("created")] long Created,
    [property: JsonPropertyName("model")] string Model,
    [property: JsonPropertyName("choices")] IReadOnlyList<ChunkChoice> Choices,
    [property: JsonPropertyName("usage")] Usage? Usage)
{
    /// <summary>Always <c>chat.completion.chunk</c>.</summary>
    [JsonPropertyName("object")] public string Object => "chat.completion.chunk";

    /// <summary>Identifies the server build that produced the answer.</summary>
    [JsonPropertyName("system_fingerprint")] public string SystemFingerprint => ServerInfo.Fingerprint;
}

/// <summary>One choice's delta in a chunk.</summary>
public sealed record ChunkChoice(
    [property: JsonPropertyName("index")] int Index,
    [property: JsonPropertyName("delta")] ChunkDelta Delta,
    [property: JsonPropertyName("logprobs")] ChoiceLogprobs? Logprobs,
    [property: JsonPropertyName("finish_reason")] string? FinishReason);

/// <summary>The text a chunk adds; the first chunk also carries the role.</summary>
public sealed record ChunkDelta(
    [property: JsonPropertyName("role"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Role,
    [property: JsonPropertyName("content"), JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Content);
